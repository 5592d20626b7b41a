/**
 * The command line as a Unix tool, tested by spawning the real CLI: --version,
 * help and --help on every command (usage, options, examples; exit 0, stdout),
 * `check FILE` and `check --config FILE`, every usage error as one line plus
 * a hint on stderr with exit 2 and never a stack trace, `check` reporting
 * every problem of a broken config in one pass, and `serve --log-format`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { udpQuery, until } from '../../helpers/dns.js';
import { ROOT, tempDir } from '../../helpers/server.js';
import { closedPort } from '../health/targets.js';

const CLI = path.join(ROOT, 'src', 'cli.ts');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const fixture = (name: string) => path.join(ROOT, 'test', 'fixtures', 'configs', name);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function meridian(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { cwd: ROOT, timeout: 120_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const COMMANDS = ['serve', 'check', 'explain', 'simulate'] as const;

describe('version and help: exit 0, on stdout', () => {
  it('--version and -V print "meridian <version>"', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await meridian([flag]);
      expect(r).toEqual({ code: 0, stdout: `meridian ${VERSION}\n`, stderr: '' });
    }
  });

  it('help, --help and -h list every command, examples and the environment', async () => {
    const runs = await Promise.all([['help'], ['--help'], ['-h']].map((a) => meridian(a)));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: meridian \[options\] \[command\]/);
      for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toContain('MERIDIAN_LOG_FORMAT');
    }
    expect(runs[1].stdout).toBe(runs[0].stdout);
  });

  it.each(COMMANDS)('%s --help and `meridian help <command>`: its own usage, options and examples', async (c) => {
    const [a, b] = await Promise.all([meridian([c, '--help']), meridian(['help', c])]);
    for (const r of [a, b]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^Usage: meridian ${c} \\[options\\]`));
      expect(r.stdout).toContain('--config <file>');
      expect(r.stdout).toMatch(new RegExp(`Examples:\\n  meridian ${c}`));
    }
    expect(b.stdout).toBe(a.stdout);
  });
});

describe('usage errors: one line and a hint on stderr, exit 2, no stack trace', () => {
  const CASES: Array<[string[], string]> = [
    [['frobnicate'], "meridian: unknown command 'frobnicate'"],
    [['sreve'], "meridian: unknown command 'sreve' (did you mean serve?)"],
    [['--frob'], "meridian: unknown option '--frob'"],
    [['help', 'chekc'], 'meridian: unknown command \'chekc\' (did you mean "check"?)'],
    [
      ['check', 'extra.yaml', 'more.yaml'],
      "meridian check: too many arguments for 'check'. Expected 1 argument but got 2.",
    ],
    [['check', '--confg', 'x.yaml'], "meridian check: unknown option '--confg' (did you mean --config?)"],
    [['check', 'a.yaml', '--config', 'b.yaml'], 'meridian check: give the config once: as FILE or as --config FILE'],
    [['check', '--config'], "meridian check: option '-c, --config <file>' argument missing"],
    [['explain', '--name'], "meridian explain: option '-n, --name <name>' argument missing"],
    [
      ['explain', '--name', 'cdn.example.net'],
      "meridian explain: required option '--client <ip|subnet>' not specified",
    ],
    [
      ['explain', '-n', 'cdn.example.net', '--client', '1.1.1.0/24', '-t', 'MX'],
      "meridian explain: option '-t, --type <type>' argument 'MX' is invalid. Expected A or AAAA.",
    ],
    [
      ['explain', '-n', 'cdn.example.net', '--client', 'bogus'],
      "meridian explain: 'bogus' is not an IPv4 or IPv6 prefix",
    ],
    [
      ['serve', '--workers', 'x'],
      "meridian serve: option '--workers <n>' argument 'x' is invalid. Expected a whole number.",
    ],
    [
      ['serve', '--workers', '-1'],
      "meridian serve: option '--workers <n>' argument '-1' is invalid. Expected a whole number.",
    ],
    [
      ['serve', '--log-format', 'xml'],
      "meridian serve: option '--log-format <format>' argument 'xml' is invalid. Allowed choices are json, pretty.",
    ],
    [
      ['serve', '--log-level', 'loud'],
      "meridian serve: option '--log-level <level>' argument 'loud' is invalid. Allowed choices are trace, debug, info, warn, error, fatal, silent.",
    ],
    [['simulate'], 'meridian simulate: give either --clients FILE or --generate N'],
    [
      ['simulate', '--clients', 'c.csv', '--generate', '5'],
      'meridian simulate: give either --clients FILE or --generate N',
    ],
    [
      ['simulate', '--generate', '0'],
      "meridian simulate: option '--generate <n>' argument '0' is invalid. Expected a whole number of at least 1.",
    ],
  ];

  it.each(CASES)('meridian %j', async (args, line) => {
    const r = await meridian(args);
    const command = line.startsWith('meridian: ') ? 'meridian' : line.slice(0, line.indexOf(':'));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${line}\nTry '${command} --help' for more information.\n`);
  });

  it('no command at all: the usage on stderr, exit 2', async () => {
    const r = await meridian([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: meridian \[options\] \[command\]/);
  });
});

describe('check FILE', () => {
  it('takes the file as an argument or as --config, exit 0 with the summary', async () => {
    const cfg = path.join(ROOT, 'config', 'examples', 'latency.yaml');
    const [a, b] = await Promise.all([meridian(['check', cfg]), meridian(['check', '--config', cfg])]);
    for (const r of [a, b]) {
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(`${cfg}: OK`);
    }
  });

  it('reports every problem in one pass: schema, references and zone-file errors, in file order, with did-you-mean', async () => {
    const file = fixture('many-problems.yaml');
    const zone = fixture('many-problems.zone');
    const r = await meridian(['check', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${file}:3:24: server.tcp.idle_timeout: expected a duration: seconds, or a string like 500ms, 5s or 2m`,
      `${file}:4:1: helth: unknown key "helth" (did you mean "health"?)`,
      `${file}:7:62: pops.fra.health.intervall: unknown key "intervall" (did you mean "interval"?)`,
      `${file}:12:9: policies.global.steps[0].contry: unknown key "contry" (did you mean "country"?)`,
      `${file}:13:32: policies.global.steps[1].nearest.pops[1]: unknown PoP "lonn" (did you mean "lon"?)`,
      `${file}:20:21: zones[0].records.svc.HTTPS: HTTPS alpn needs a value`,
      `${file}:22:22: zones[0].geo.cdn.policy: unknown policy "globl" (did you mean "global"?) (known: global)`,
      `${file}:24:11: zones[1].file: ${zone}:6: bad IPv4 address '192.0.2.300'`,
      expect.stringMatching(
        new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:24:11: zones\\[1\\]\\.file: .*many-problems\\.zone:7: unknown record type 'HTTP' \\(did you mean "HTTPS"\\?\\)`,
        ),
      ),
      `${file}:25:13: zones[2].origin: zone example.net is defined twice: here and at zones[0] (${file}:15:13)`,
      `${file}: 10 problems`,
    ]);
  });
});

/** Servers started by the tests: a test that times out must not leave one running. */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Start `serve ARGS` on a free port, wait until it answers DNS, stop it (SIGTERM); returns stdout. */
async function serveOutput(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const port = await closedPort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--admin', 'off', '--workers', '0', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, MERIDIAN_LOG_LEVEL: undefined, MERIDIAN_LOG_FORMAT: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await until(
      async () => (await udpQuery(port, { name: 'www.example.net', type: 'A' }).catch(() => null))?.rcode === 0,
      'serve answers',
      60_000,
      200,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
  return out;
}

/** A small config that starts in a moment (no geo database to compile). */
const SMALL =
  'zones:\n  - origin: example.net.\n    soa: { mname: ns1, rname: h@example.net, serial: 1 }\n    ns: [ns1]\n    records:\n      www: { A: [192.0.2.1] }\n';
let dir = '';
beforeAll(() => {
  dir = tempDir('meridian-cli-');
  writeFileSync(path.join(dir, 'small.yaml'), SMALL);
  writeFileSync(path.join(dir, 'warn.yaml'), `logging:\n  level: warn\n${SMALL}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('serve --log-format', () => {
  const startupOutput = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    serveOutput(['-c', path.join(dir, 'small.yaml'), ...args], env);

  it('json: one JSON object per line; pretty: human lines (also from MERIDIAN_LOG_FORMAT)', {
    timeout: 120_000,
  }, async () => {
    const [json, pretty, fromEnv] = await Promise.all([
      startupOutput(['--log-format', 'json']),
      startupOutput(['--log-format', 'pretty']),
      startupOutput([], { MERIDIAN_LOG_FORMAT: 'pretty' }),
    ]);
    const first = json.split('\n').find((l) => l.includes('meridian serving'))!;
    expect(JSON.parse(first)).toMatchObject({ level: 30, msg: 'meridian serving', name: 'meridian' });
    for (const text of [pretty, fromEnv]) {
      const line = text.split('\n').find((l) => l.includes('meridian serving'))!;
      expect(() => JSON.parse(line)).toThrow();
      expect(line).toMatch(/INFO.*meridian serving/);
    }
  });
});

describe('logging.level', () => {
  it('is honoured from the config, and --log-level and MERIDIAN_LOG_LEVEL override it', async () => {
    const config = path.join(dir, 'warn.yaml');
    const [quiet, flag, env] = await Promise.all([
      serveOutput(['-c', config, '--log-format', 'json']),
      serveOutput(['-c', config, '--log-format', 'json', '--log-level', 'info']),
      serveOutput(['-c', config, '--log-format', 'json'], { MERIDIAN_LOG_LEVEL: 'info' }),
    ]);
    // At warn, nothing of a clean start is logged (the start-up line is info).
    expect(quiet).not.toContain('meridian serving');
    expect(flag).toContain('meridian serving');
    expect(env).toContain('meridian serving');
  }, 120_000);
});
