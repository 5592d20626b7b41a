/**
 * The command line: `meridian serve | check | publish | explain | simulate | reload`, with
 * --help (usage and examples) on every command, `meridian help [command]`
 * and --version, all exiting 0. A usage error is one line on stderr plus a
 * hint, exit 2, never a stack trace. Parsing only (commander); the work is in
 * plane/serve.ts and the command modules of this folder. The executable is
 * src/cli.ts (dist/cli.js), which only calls main().
 */
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { didYouMean } from '../util/did-you-mean.js';
import { MeridianError, UsageError } from '../errors.js';
import { PACKAGE_ROOT } from '../util/package-root.js';
import { meridianVersion } from '../util/version.js';

/** The embedded default config, relative to the package root. */
export const DEFAULT_CONFIG = path.join(PACKAGE_ROOT, 'config', 'meridian.yaml');

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min)
      throw new InvalidArgumentError(`Expected a whole number${min > 0 ? ` of at least ${min}` : ''}.`);
    return Number(value);
  };
}

function queryType(value: string): string {
  const type = value.toUpperCase();
  if (type !== 'A' && type !== 'AAAA') throw new InvalidArgumentError('Expected A or AAAA.');
  return type;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const configOption = () =>
  new Option('-c, --config <file>', 'the config file').default(DEFAULT_CONFIG, 'config/meridian.yaml of the package');
const ENVIRONMENT = `
Environment:
  MERIDIAN_LOG_LEVEL    log level over logging.level (--log-level wins over both)
  MERIDIAN_LOG_FORMAT   json or pretty, when --log-format is not given
  MERIDIAN_UDP=dgram    answer UDP with node:dgram instead of the batched addon
  MERIDIAN_ADMIN_TOKEN  the admin token, when admin.token_env names it (as the sample config does)
`;
const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;

/** The parsed command line, its command's action run; `result()` is the action's exit code. */
function build(): { program: Command; active: () => string; result: () => number | undefined } {
  let active = '';
  let result: number | undefined;
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => {
      result = await fn(...args);
    };
  const program = new Command('meridian')
    .description('Authoritative GeoDNS server: nearest-PoP answers with sound, wide EDNS Client Subnet scopes.')
    .version(`meridian ${meridianVersion()}`, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show the help of a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `${examples(['meridian serve', 'meridian check config/meridian.yaml', 'meridian help explain'])}${ENVIRONMENT}`,
    )
    .hook('preSubcommand', (_, sub) => {
      active = sub.name();
    });

  program
    .command('serve')
    .description(
      'answer DNS queries: load and compile the config, listen on UDP and TCP, serve the admin API; SIGHUP reloads, SIGTERM stops',
    )
    .addOption(configOption())
    .option('-l, --listen <host:port>', 'listen here instead of server.listen (repeat for several)', collect)
    .option('--admin <host:port|off>', 'admin HTTP listener instead of admin.listen, or "off"')
    .option('--workers <n>', 'worker processes (0 = one process; default: server.workers)', wholeNumber(0))
    .addOption(
      new Option('--log-level <level>', 'log level (default: MERIDIAN_LOG_LEVEL, else logging.level)').choices(
        LOG_LEVELS,
      ),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines as JSON, or pretty for people (default: pretty on a terminal, or MERIDIAN_LOG_FORMAT)',
      ).choices(['json', 'pretty']),
    )
    .addHelpText(
      'after',
      examples([
        'meridian serve                                   # the sample config on 127.0.0.1:5300 and [::1]:5300',
        'meridian serve -c /etc/meridian/meridian.yaml --workers 4',
        'meridian serve --listen 0.0.0.0:53 --listen [::]:53 --admin off --log-format json',
      ]),
    )
    .action(
      act(
        async (o: {
          config: string;
          listen?: string[];
          admin?: string;
          workers?: number;
          logLevel?: string;
          logFormat?: 'json' | 'pretty';
        }) => {
          const { serve } = await import('../plane/serve.js');
          return serve({
            configFile: path.resolve(o.config),
            listen: o.listen,
            admin: o.admin,
            workers: o.workers,
            logLevel: o.logLevel,
            logFormat: o.logFormat,
          });
        },
      ),
    );

  program
    .command('check')
    .description(
      'validate and compile a config as serve would: a summary and exit 0, or every problem as file:line:column: path: message and exit 1',
    )
    .argument('[file]', 'the config file (the same as --config)')
    .addOption(configOption())
    .addHelpText(
      'after',
      examples([
        'meridian check config/meridian.yaml',
        'meridian check --config /etc/meridian/meridian.yaml && systemctl reload meridian',
      ]),
    )
    .action(
      act(async (file: string | undefined, o: { config: string }, cmd: Command) => {
        const fromFlag = cmd.getOptionValueSource('config') === 'cli';
        if (file !== undefined && fromFlag && path.resolve(file) !== path.resolve(o.config))
          throw new UsageError('give the config once: as FILE or as --config FILE');
        const { check } = await import('./check.js');
        return check(path.resolve(file ?? o.config));
      }),
    );

  program
    .command('publish')
    .description(
      "validate and compile a config as serve would, then store it as the fleet's next config version (instances with fleet.config: follow run it); exit 1 with file:line:column problems and nothing published",
    )
    .addOption(configOption())
    .addHelpText(
      'after',
      examples([
        'meridian publish --config /etc/meridian/meridian.yaml',
        'meridian check -c new.yaml && meridian publish -c new.yaml',
      ]),
    )
    .action(
      act(async (o: { config: string }) => {
        const { publishCommand } = await import('./publish.js');
        return publishCommand(path.resolve(o.config));
      }),
    );

  program
    .command('explain')
    .description(
      'what the server answers a name for a client, and why: location, the step that decided, candidates with distance, RTT and health',
    )
    .requiredOption('-n, --name <name>', 'the name to ask for')
    .requiredOption('--client <ip|subnet>', 'the client address or ECS subnet (1.2.3.4, 2a01:4f8::/48)')
    .option('-t, --type <type>', 'A or AAAA', queryType, 'A')
    .addOption(configOption())
    .option('--json', 'print a stable JSON object instead of text')
    .option('--compare <file>', 'a second config: explain the same query under it and say whether the answer moves')
    .addHelpText(
      'after',
      examples([
        'meridian explain --name cdn.example.net --client 1.1.1.0/24',
        'meridian explain -n cdn.example.net -t AAAA --client 2a01:4f8::/48 --json',
        'meridian explain -n cdn.example.net --client 1.1.1.0/24 --compare new.yaml',
      ]),
    )
    .action(
      act(
        async (o: { config: string; name: string; type: string; client: string; json?: boolean; compare?: string }) => {
          const { explainCommand } = await import('./explain.js');
          return explainCommand({
            configFile: path.resolve(o.config),
            name: o.name,
            type: o.type,
            client: o.client,
            json: o.json === true,
            compare: o.compare ? path.resolve(o.compare) : undefined,
          });
        },
      ),
    );

  program
    .command('simulate')
    .description(
      'run a client population through a config: traffic share, RTT and distinct ECS scopes per PoP, optionally against a second config and as an SVG map',
    )
    .addOption(configOption())
    .option('--clients <file>', 'CSV of network,weight (CIDR or address; weight in any unit)')
    .option(
      '--generate <n>',
      'instead of --clients: n networks drawn evenly from the database (not weighted by traffic)',
      wholeNumber(1),
    )
    .option('--compare <file>', 'a second config to compare with (share of traffic that changes PoP)')
    .option('--map <file.svg>', 'draw the catchments as SVG')
    .option('--name <record>', 'the geo record (default: the first one)')
    .option('--json', 'print JSON instead of the table')
    .addHelpText(
      'after',
      examples([
        'meridian simulate -c new.yaml --clients clients.csv --compare config/meridian.yaml --map catchments.svg',
        'meridian simulate --generate 5000 --json',
      ]),
    )
    .action(
      act(
        async (o: {
          config: string;
          clients?: string;
          generate?: number;
          compare?: string;
          map?: string;
          name?: string;
          json?: boolean;
        }) => {
          if ((o.clients === undefined) === (o.generate === undefined))
            throw new UsageError('give either --clients FILE or --generate N');
          const { simulateCommand } = await import('./simulate.js');
          return simulateCommand({
            configFile: path.resolve(o.config),
            clients: o.clients,
            generate: o.generate,
            compare: o.compare ? path.resolve(o.compare) : undefined,
            map: o.map,
            name: o.name,
            json: o.json === true,
          });
        },
      ),
    );

  program
    .command('reload')
    .description(
      "ask a running server to reload, show what the change guard holds, or accept a held change (through the admin API: address and token from the config's admin section, --admin, MERIDIAN_ADMIN_TOKEN); exit 0 done, 1 failed, 3 held",
    )
    .argument('[id]', 'with --accept: the id of the held change reviewed (default: the one held now)')
    .addOption(configOption())
    .option('--admin <host:port>', "the server's admin listener instead of admin.listen")
    .option('--accept', 'apply the change the change guard holds')
    .option('--status', 'show a running reload and the held change, change nothing')
    .option('--json', 'print the admin API JSON')
    .addHelpText(
      'after',
      examples([
        'meridian reload                     # like SIGHUP, but waits and reports',
        'meridian reload --status',
        'meridian reload --accept 8f03c2d1a4b7',
      ]),
    )
    .action(
      act(
        async (
          id: string | undefined,
          o: { config: string; admin?: string; accept?: boolean; status?: boolean; json?: boolean },
        ) => {
          if (id !== undefined && !o.accept) throw new UsageError('a change id goes with --accept');
          const { reloadCommand } = await import('./reload.js');
          return reloadCommand({
            configFile: path.resolve(o.config),
            admin: o.admin,
            accept: o.accept === true,
            id,
            status: o.status === true,
            json: o.json === true,
          });
        },
      ),
    );

  return { program, active: () => active, result: () => result };
}

/** Commander's message as one line: "error: " dropped, its "(Did you mean ...?)" line joined. */
function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

export async function main(argv: string[]): Promise<number | undefined> {
  const { program, active, result } = build();
  const usage = (message: string) => {
    const cmd = active();
    process.stderr.write(
      `meridian${cmd ? ` ${cmd}` : ''}: ${message}\nTry 'meridian${cmd ? ` ${cmd}` : ''} --help' for more information.\n`,
    );
    return 2;
  };
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return 2;
  }
  const names = program.commands.map((c) => c.name());
  if (argv[0] === 'help' && argv[1] !== undefined && !names.includes(argv[1]))
    return usage(`unknown command '${argv[1]}'${didYouMean(argv[1], names)}`);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return err.exitCode === 0 ? 0 : 2;
      return usage(oneLine(err.message));
    }
    if (err instanceof UsageError) return usage(err.message);
    if (err instanceof MeridianError) {
      process.stderr.write(`meridian: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`meridian: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
