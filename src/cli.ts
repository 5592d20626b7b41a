#!/usr/bin/env node
/**
 * meridian serve | check | explain | simulate — argument parsing only; the
 * work is in main.ts and the command modules.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MeridianError, UsageError } from './errors.js';

/** The embedded default config, relative to the package root. */
export const DEFAULT_CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'config', 'meridian.yaml');

const USAGE = `usage:
  meridian serve    [--config FILE] [--listen HOST:PORT ...] [--admin HOST:PORT|off] [--workers N] [--log-level LEVEL]
  meridian check    [--config FILE]
  meridian explain  --name NAME [--type A|AAAA] --client IP|SUBNET [--config FILE] [--json]
  meridian simulate --config FILE --clients FILE|--generate N [--compare FILE] [--map FILE.svg] [--json]
  meridian reload   [--config FILE] [--admin HOST:PORT] [--accept [ID]] [--status] [--json]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', default: DEFAULT_CONFIG },
          listen: { type: 'string', multiple: true },
          admin: { type: 'string' },
          workers: { type: 'string' },
          'log-level': { type: 'string' },
        },
        strict: true,
      });
      const { serve } = await import('./main.js');
      const workers = values.workers === undefined ? undefined : Number(values.workers);
      if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) throw new UsageError('--workers takes a whole number (0 = single process)');
      return serve({ configFile: path.resolve(values.config), listen: values.listen, admin: values.admin, workers, logLevel: values['log-level'] });
    }
    case 'check': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', default: DEFAULT_CONFIG } }, strict: true });
      const { check } = await import('./commands/check.js');
      return check(path.resolve(values.config));
    }
    case 'explain': {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', default: DEFAULT_CONFIG },
          name: { type: 'string' },
          type: { type: 'string', default: 'A' },
          client: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      if (!values.name || !values.client) throw new UsageError('explain needs --name and --client');
      const { explainCommand } = await import('./commands/explain.js');
      return explainCommand({ configFile: path.resolve(values.config), name: values.name, type: values.type, client: values.client, json: values.json });
    }
    case 'simulate': {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', default: DEFAULT_CONFIG },
          clients: { type: 'string' },
          generate: { type: 'string' },
          compare: { type: 'string' },
          map: { type: 'string' },
          name: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      const { simulateCommand } = await import('./commands/simulate.js');
      return simulateCommand({
        configFile: path.resolve(values.config),
        clients: values.clients,
        generate: values.generate === undefined ? undefined : Number(values.generate),
        compare: values.compare ? path.resolve(values.compare) : undefined,
        map: values.map,
        name: values.name,
        json: values.json,
      });
    }
    case 'reload': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', default: DEFAULT_CONFIG },
          admin: { type: 'string' },
          accept: { type: 'boolean', default: false },
          status: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length > (values.accept ? 1 : 0)) throw new UsageError('reload takes a change id only after --accept');
      const { reloadCommand } = await import('./commands/reload.js');
      return reloadCommand({ configFile: path.resolve(values.config), admin: values.admin, accept: values.accept, id: positionals[0], status: values.status, json: values.json });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err instanceof Error && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')) {
      process.stderr.write(`meridian: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (err instanceof MeridianError) {
      process.stderr.write(`meridian: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`meridian: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
