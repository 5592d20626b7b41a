/**
 * ops/systemd/meridian.service: `systemd-analyze verify` accepts it, its
 * offline security assessment stays "OK", and what it promises holds when
 * its steps are run by hand (this machine has no systemd as PID 1):
 * - as an unprivileged user Meridian cannot bind a privileged port, and with
 *   the ambient CAP_NET_BIND_SERVICE the unit grants (set here with setpriv,
 *   the same kernel mechanism) it can, in the primary and in its workers;
 * - ExecReload (kill -HUP $MAINPID) reloads the config, and KillSignal
 *   (SIGTERM) stops it with exit 0.
 * The privileged port is < 1024 on 127.77.0.1 (loopback), so no real DNS
 * service on the machine is disturbed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/configs.js';
import { addresses, udpQuery, until } from '../helpers/dns.js';
import { ROOT, tempDir } from '../helpers/server.js';
import { freePort, requireTool, run } from './tools.js';

const UNIT = path.join(ROOT, 'ops', 'systemd', 'meridian.service');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const SETPRIV = '/usr/bin/setpriv';
const HOST = '127.77.0.1';
const NOBODY = 65534;

const unit = readFileSync(UNIT, 'utf8');
/** `Key=value` settings of the unit (the last one wins, as in systemd). */
const setting = (key: string): string[] =>
  [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1].trim());

const children: ChildProcess[] = [];
const dir = tempDir('meridian-systemd-');
chmodSync(dir, 0o755); // the unprivileged user reads the config from here
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A privileged port (< 1024) free for UDP and TCP on HOST; 53 when it is free. */
async function privilegedPort(): Promise<number> {
  for (const port of [53, 853, 953, ...Array.from({ length: 24 }, (_, i) => 1000 + i)]) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: HOST, port, exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no privileged port free on ${HOST}`);
}

/** ExecStart as the unit has it, pointed at this checkout, a test config and test addresses. */
function execStart(config: string, extra: string[]): string[] {
  const [node, cli, ...args] = setting('ExecStart')[0].split(/\s+/);
  expect(node).toBe('/usr/bin/node');
  expect(cli).toBe('/opt/meridian/dist/cli.js');
  const built = path.join(ROOT, 'dist', 'cli.js');
  if (!existsSync(built)) throw new Error('dist/cli.js is missing: run `npm run build` first (the CI script does)');
  return [process.execPath, built, ...args.map((a) => (a === '/etc/meridian/meridian.yaml' ? config : a)), ...extra];
}

/** Run `argv` as user nobody, with the given capabilities ambient (none: plain unprivileged). */
function asNobody(
  argv: string[],
  ambient: string[],
): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const caps = ambient.length
    ? [`--inh-caps=${ambient.map((c) => `+${c}`).join(',')}`, `--ambient-caps=${ambient.map((c) => `+${c}`).join(',')}`]
    : [];
  const child = spawn(SETPRIV, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...caps, '--', ...argv], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', HOME: os.tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  return { child, log: () => log, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

describe('systemd unit (ops/systemd/meridian.service)', { timeout: 180_000 }, () => {
  it('systemd-analyze verify accepts it', async () => {
    requireTool(SYSTEMD_ANALYZE, 'systemd');
    const r = await run(SYSTEMD_ANALYZE, ['verify', UNIT], { timeoutMs: 60_000 });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.code).toBe(0);
  });

  it('its offline security assessment is "OK" (exposure below 2)', async () => {
    const r = await run(SYSTEMD_ANALYZE, ['security', '--offline=yes', '--no-pager', UNIT], { timeoutMs: 60_000 });
    const m = /Overall exposure level for meridian\.service: ([\d.]+) (\w+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(2);
    expect(m![2]).toBe('OK');
  });

  it('says what operators expect: non-root user, only CAP_NET_BIND_SERVICE, SIGHUP reload, restart on failure, hardening', () => {
    expect(setting('User')).toEqual(['meridian']);
    expect(setting('AmbientCapabilities')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(setting('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(setting('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(setting('Restart')).toEqual(['on-failure']);
    expect(setting('NoNewPrivileges')).toEqual(['yes']);
    expect(setting('ProtectSystem')).toEqual(['strict']);
    expect(setting('MemoryDenyWriteExecute')).toEqual([]); // V8's JIT needs W+X pages
    expect(readFileSync(path.join(ROOT, 'ops', 'systemd', 'meridian.sysusers.conf'), 'utf8')).toMatch(
      /^u meridian - "Meridian GeoDNS" \/var\/lib\/meridian \/usr\/sbin\/nologin$/m,
    );
  });

  it('a privileged port: refused to an unprivileged user, served with the ambient capability (workers included); reload and stop as the unit does them', async () => {
    requireTool(SETPRIV, 'util-linux');
    if (process.getuid?.() !== 0)
      throw new Error('this test changes user with setpriv and must run as root (the CI script does)');
    const config = path.join(dir, 'meridian.yaml');
    writeFileSync(config, testConfig());
    const port = await privilegedPort();
    const listen = ['--listen', `${HOST}:${port}`];

    // Without the capability: the bind fails with EACCES, exit 1.
    const plain = asNobody(execStart(config, [...listen, '--admin', 'off', '--workers', '0']), []);
    expect(await plain.exited, plain.log()).toBe(1);
    expect(plain.log()).toMatch(
      new RegExp(`cannot listen on (udp|tcp) ${HOST.replace(/\./g, '\\.')}:${port}: .*(EACCES|Permission denied)`),
    );

    // With it, as the unit grants it: the primary and both workers serve.
    const admin = await freePort();
    const s = asNobody(
      execStart(config, [...listen, '--admin', `127.0.0.1:${admin}`, '--workers', '2', '--log-level', 'info']),
      ['net_bind_service'],
    );
    await until(
      async () =>
        s.child.exitCode === null && addresses(await udpQuery(port, { name: 'www.example.net' }, HOST)).length === 1,
      'served on the privileged port',
      60_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${s.log()}`);
    });
    await until(
      async () => /^meridian_workers 2$/m.test(await fetch(`http://127.0.0.1:${admin}/metrics`).then((r) => r.text())),
      'both workers answering',
    );
    expect(s.log()).toContain('"msg":"meridian serving"');

    // ExecReload with $MAINPID (the setpriv'd process execs node, so its pid is Meridian's).
    writeFileSync(config, testConfig().replace('198.51.100.10', '198.51.100.11'));
    const reload = await run('/bin/sh', ['-c', setting('ExecReload')[0].replace('$MAINPID', String(s.child.pid))]);
    expect(reload.code).toBe(0);
    await until(
      async () => addresses(await udpQuery(port, { name: 'www.example.net' }, HOST))[0] === '198.51.100.11',
      'reloaded by SIGHUP',
      30_000,
    );
    expect(s.log()).toMatch(/"reason":"SIGHUP".*"msg":"config reloaded"/);

    // KillSignal: SIGTERM, a clean exit within TimeoutStopSec.
    expect(setting('KillSignal')).toEqual(['SIGTERM']);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });
});
