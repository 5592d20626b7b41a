/**
 * The admin token as operators configure it: `admin.token_env` naming an
 * unset or empty variable, or a token shorter than 16 characters, is said
 * loudly at start (a warning) and in every 403; on a non-loopback admin
 * listener it is refused (Meridian does not start; a reload to such a config
 * fails and the running config stays). The start log says whether the admin
 * API is read-only or writable, and a reload that changes it says so again.
 * Also the pure decision (adminAccess, isLoopbackHost).
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlane, type PlaneSink } from '../../../src/plane/control-plane.js';
import { ConfigError } from '../../../src/errors.js';
import { adminAccess, isLoopbackHost } from '../../../src/plane/admin-access.js';
import { createLogger } from '../../../src/util/logger.js';
import { MeridianServer } from '../../../src/plane/server.js';
import { buildSnapshotFromFile } from '../../../src/build/snapshot.js';
import { emptyGuardCounts } from '../../../src/plane/guards.js';
import { emptyTcpStats } from '../../../src/transport/tcp.js';
import { QueryCounters } from '../../../src/query/counters.js';
import { testConfig } from '../../helpers/configs.js';
import { until } from '../../helpers/dns.js';
import { ROOT, tempDir, writeAtomically } from '../../helpers/server.js';
import { get, post } from './admin-http.js';

const GOOD = 'a-token-of-24-characters';

/** testConfig with `admin:` lines replaced by `lines`. */
function withAdmin(lines: string[]): string {
  const base = testConfig();
  const block = 'admin:\n  listen: 127.0.0.1:0';
  if (!base.includes(block)) throw new Error('testConfig admin block not found');
  return base.replace(block, [block, ...lines.map((l) => `  ${l}`)].join('\n'));
}

/** A variable name no other test uses, set to `value` (undefined: left unset) for this test. */
const envNames: string[] = [];
function envVar(value: string | undefined): string {
  const name = `MERIDIAN_TEST_TOKEN_${process.pid}_${envNames.length}`;
  envNames.push(name);
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  return name;
}

interface Started {
  server: MeridianServer;
  configFile: string;
  logs: Array<{ level: number; msg: string; [k: string]: unknown }>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  for (const name of envNames.splice(0)) delete process.env[name];
});

/** A real server (UDP on 127.0.0.1:0, admin on `admin`) whose JSON log lines are kept. */
async function start(yaml: string, admin = '127.0.0.1:0'): Promise<Started> {
  const dir = tempDir('meridian-token-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'meridian.yaml');
  writeFileSync(configFile, yaml);
  const logs: Started['logs'] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const server = await MeridianServer.start({
    configFile,
    listen: ['127.0.0.1:0'],
    admin,
    logger: createLogger({ level: 'info', destination }),
  });
  cleanups.push(() => server.close(100));
  return { server, configFile, logs };
}

const WARN = 40;
const INFO = 30;
const adminLines = (s: Started) => s.logs.filter((l) => /^admin API/.test(l.msg));

describe('adminAccess: the decision', () => {
  it('inline token, token from the environment, unset, empty, too short, none', () => {
    expect(adminAccess({ listen: 'x', token: GOOD }, {})).toEqual({
      token: GOOD,
      source: 'admin.token',
      readOnlyReason: null,
      problem: null,
    });
    expect(adminAccess({ listen: 'x', token_env: 'T' }, { T: GOOD })).toEqual({
      token: GOOD,
      source: '$T',
      readOnlyReason: null,
      problem: null,
    });
    const unset = adminAccess({ listen: 'x', token_env: 'T' }, {});
    expect(unset).toMatchObject({
      token: null,
      problem: "admin.token_env names T, which is not set in Meridian's environment",
    });
    expect(unset.readOnlyReason).toBe(unset.problem);
    expect(adminAccess({ listen: 'x', token_env: 'T' }, { T: '' }).problem).toBe(
      "admin.token_env names T, which is empty in Meridian's environment",
    );
    expect(adminAccess({ listen: 'x', token_env: 'T' }, { T: 'short-token' })).toMatchObject({
      token: null,
      problem: 'the admin token in T is 11 characters long; at least 16 are required',
    });
    // Exactly 16 is enough.
    expect(adminAccess({ listen: 'x', token_env: 'T' }, { T: '0123456789abcdef' }).token).toBe('0123456789abcdef');
    // No token at all is a deliberate read-only API, not a problem.
    expect(adminAccess({ listen: 'x' }, {})).toEqual({
      token: null,
      source: null,
      readOnlyReason: 'no admin token is configured (admin.token_env or admin.token)',
      problem: null,
    });
  });

  it('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.0.2.1', '10.0.0.1', '::ffff:10.0.0.1', '::2', '2001:db8::1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('admin token on a loopback listener', () => {
  it('token_env naming an unset variable: a loud warning at start, and the 403 says why', async () => {
    const name = envVar(undefined);
    const s = await start(withAdmin([`token_env: ${name}`]));
    const [line] = adminLines(s);
    expect(line.level).toBe(WARN);
    expect(line.msg).toBe(
      `admin API is READ-ONLY: admin.token_env names ${name}, which is not set in Meridian's environment; drain, force-up/down and reload over HTTP will be refused (403)`,
    );
    const r = await post(s.server.adminPort!, '/admin/pops/fra/drain', GOOD);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toBe(
      `read-only: admin.token_env names ${name}, which is not set in Meridian's environment`,
    );
    expect((await post(s.server.adminPort!, '/admin/reload', GOOD)).status).toBe(403);
  });

  it('a token shorter than 16 characters: warning, and the 403 gives its length (never the token)', async () => {
    const name = envVar('only-9-ch');
    const s = await start(withAdmin([`token_env: ${name}`]));
    expect(adminLines(s)).toEqual([
      expect.objectContaining({
        level: WARN,
        msg: expect.stringContaining(`the admin token in ${name} is 9 characters long; at least 16 are required`),
      }),
    ]);
    const r = await post(s.server.adminPort!, '/admin/pops/fra/drain', 'only-9-ch');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toBe(
      `read-only: the admin token in ${name} is 9 characters long; at least 16 are required`,
    );
    expect(r.body).not.toContain('only-9-ch');
  });

  it('a good token: "writable" at start (naming the variable, not the token); writes work', async () => {
    const name = envVar(GOOD);
    const s = await start(withAdmin([`token_env: ${name}`]));
    expect(adminLines(s)).toEqual([
      expect.objectContaining({ level: INFO, msg: `admin API is writable (bearer token from $${name})` }),
    ]);
    expect(JSON.stringify(s.logs)).not.toContain(GOOD);
    expect((await post(s.server.adminPort!, '/admin/pops/fra/drain', GOOD)).status).toBe(200);
  });

  it('no token configured: "read-only" at info level, and the 403 says no token is configured', async () => {
    const s = await start(withAdmin([]));
    expect(adminLines(s)).toEqual([
      expect.objectContaining({
        level: INFO,
        msg: 'admin API is read-only: no admin token is configured (admin.token_env or admin.token)',
      }),
    ]);
    const r = await post(s.server.adminPort!, '/admin/pops/fra/drain', GOOD);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toBe('read-only: no admin token is configured (admin.token_env or admin.token)');
  });

  it('a reload that breaks the token says so again, and the 403 follows; fixing it makes the API writable', async () => {
    const good = envVar(GOOD);
    const unset = envVar(undefined);
    const s = await start(withAdmin([`token_env: ${good}`]));
    writeAtomically(s.configFile, withAdmin([`token_env: ${unset}`]));
    await until(() => adminLines(s).length === 2, 'a second admin access line after the reload');
    expect(adminLines(s)[1]).toMatchObject({
      level: WARN,
      msg: expect.stringContaining(`admin.token_env names ${unset}, which is not set`),
    });
    const r = await post(s.server.adminPort!, '/admin/pops/fra/drain', GOOD);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toContain(unset);
    writeAtomically(s.configFile, withAdmin([`token_env: ${good}`]));
    await until(() => adminLines(s).length === 3, 'a third admin access line');
    expect(adminLines(s)[2]).toMatchObject({ level: INFO, msg: `admin API is writable (bearer token from $${good})` });
    expect((await post(s.server.adminPort!, '/admin/pops/fra/drain', GOOD)).status).toBe(200);
    // Reads never needed a token.
    expect((await get(s.server.adminPort!, '/admin/pops')).status).toBe(200);
  });
});

describe('admin token on a non-loopback listener: refused', () => {
  it('in-process: MeridianServer.start rejects with file:line:column of admin.token_env, before binding anything', async () => {
    const name = envVar(undefined);
    const yaml = withAdmin([`token_env: ${name}`]);
    const line = yaml.split('\n').findIndex((l) => l.includes(`token_env: ${name}`)) + 1;
    const dir = tempDir('meridian-token-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = path.join(dir, 'meridian.yaml');
    writeFileSync(configFile, yaml);
    // The address is never bound: the refusal comes first.
    const err = await MeridianServer.start({ configFile, listen: ['127.0.0.1:0'], admin: '0.0.0.0:0' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const issue = (err as ConfigError).issues[0];
    expect(issue).toMatchObject({ file: configFile, line, column: 3, path: 'admin.token_env' });
    expect(issue.message).toBe(
      `admin.token_env names ${name}, which is not set in Meridian's environment, and the admin API listens on 0.0.0.0:0, which is not loopback: refusing to start. ` +
        `Set ${name} to a token of 16+ characters, bind the admin API to 127.0.0.1, or remove admin.token_env to serve a read-only admin API on purpose`,
    );
  });

  it('a reload to an unusable token is refused and the running config (and its token) stays', async () => {
    const good = envVar(GOOD);
    const short = envVar('short');
    const dir = tempDir('meridian-token-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = path.join(dir, 'meridian.yaml');
    writeFileSync(configFile, withAdmin([`token_env: ${good}`]));
    // A control plane configured for a public admin listener, never started (nothing is bound).
    const sink: PlaneSink = {
      install: () => undefined,
      setHealth: () => undefined,
      collect: async () => ({
        counters: new QueryCounters(),
        popAnswers: new Map(),
        scopeEstimates: new Map(),
        tcp: emptyTcpStats(),
        guards: emptyGuardCounts(),
        udpSendErrors: 0,
        oversized: 0,
        uncaught: { exception: 0, rejection: 0 },
        workers: 1,
        udpMode: 'dgram',
      }),
      listening: () => true,
    };
    const control = new ControlPlane(buildSnapshotFromFile(configFile), sink, {
      configFile,
      admin: '[::]:9153',
      watch: false,
    });
    cleanups.push(() => control.close());
    const before = control.snapshot.hash;
    writeFileSync(configFile, withAdmin([`token_env: ${short}`]));
    const r = await control.reload('test');
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(
      /admin\.token_env: the admin token in \S+ is 5 characters long; at least 16 are required, and the admin API listens on \[::\]:9153, which is not loopback: refusing to reload\./,
    );
    expect(control.snapshot.hash).toBe(before);
    expect(control.reloads.failed).toBe(1);
  });

  it('the real process (cluster mode, 2 workers): exit 1 with the reason in the log, nothing forked or bound', async () => {
    const name = `MERIDIAN_TEST_TOKEN_UNSET_${process.pid}`;
    const dir = tempDir('meridian-token-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = path.join(dir, 'meridian.yaml');
    writeFileSync(configFile, withAdmin([`token_env: ${name}`]));
    const env = { ...process.env };
    delete env[name];
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'src', 'cli.ts'),
        'serve',
        '--config',
        configFile,
        '--listen',
        '127.0.0.1:0',
        '--admin',
        '0.0.0.0:0',
        '--workers',
        '2',
      ],
      {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, out).toBe(1);
    const lines = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        msg: expect.stringMatching(
          new RegExp(
            `:\\d+:3: admin\\.token_env: admin\\.token_env names ${name}, which is not set .* refusing to start\\.`,
          ),
        ),
      }),
    ]);
    expect(out).not.toMatch(/meridian serving|worker/);
  }, 60_000);
});
