/**
 * A real Unbound for the interop suite: started in a temp dir on a free
 * port, stub-zoned to the Meridian under test for example.net, with its
 * subnetcache module (and, for DNSSEC, the validator and a trust anchor:
 * `modules` and extra `server:` lines). Ready when it answers
 * version.server itself. See test/interop/unbound.test.ts for what we
 * learned about its subnetcache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildQuery, decodeReply, udpRaw, until } from '../helpers/dns.js';
import { UNBOUND, UNBOUND_CHECKCONF, freePort, run } from './tools.js';

export interface UnboundOptions {
  /** module-config (default "subnetcache iterator"). */
  modules?: string;
  /** More `server:` lines, each indented two spaces and ending in a newline. */
  server?: string;
}

export interface Unbound {
  port: number;
  dir: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

function unboundConf(dir: string, port: number, meridianPort: number, o: UnboundOptions): string {
  return `server:
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: ""
  logfile: "${path.join(dir, 'unbound.log')}"
  use-syslog: no
  verbosity: 1
  do-daemonize: no
  num-threads: 1
  interface: 127.0.0.1@${port}
  port: ${port}
  do-ip6: no
  so-reuseport: no
  access-control: 127.0.0.0/8 allow
  module-config: "${o.modules ?? 'subnetcache iterator'}"
${o.server ?? ''}  send-client-subnet: 127.0.0.1
  client-subnet-always-forward: yes
  max-client-subnet-ipv4: 24
  max-client-subnet-ipv6: 56
  do-not-query-localhost: no
  qname-minimisation: no
  prefetch: no
  harden-referral-path: no
  minimal-responses: yes
remote-control:
  control-enable: no
stub-zone:
  name: "example.net"
  stub-addr: 127.0.0.1@${meridianPort}
`;
}

/**
 * The unbound binary to run. Debian ships an AppArmor profile for
 * /usr/sbin/unbound that only allows /etc/unbound and /var/lib/unbound, so on
 * hosts with AppArmor enabled it could not read a config (or write a log) in
 * a temp dir. There we run a copy of the same binary from the temp dir, which
 * the path-attached profile does not confine.
 */
function unboundBinary(dir: string): string {
  let apparmor = '';
  try {
    apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim();
  } catch {
    /* no AppArmor */
  }
  if (apparmor !== 'Y') return UNBOUND;
  const copy = path.join(dir, 'unbound');
  copyFileSync(UNBOUND, copy);
  chmodSync(copy, 0o755);
  return copy;
}

export async function startUnbound(meridianPort: number, o: UnboundOptions = {}): Promise<Unbound> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-unbound-'));
    const port = await freePort(['127.0.0.1']);
    const conf = path.join(dir, 'unbound.conf');
    writeFileSync(conf, unboundConf(dir, port, meridianPort, o));
    const check = await run(UNBOUND_CHECKCONF, [conf]);
    if (check.code !== 0 || !/no errors/.test(check.stdout))
      throw new Error(`unbound-checkconf rejected ${conf} (exit ${check.code}):\n${check.stdout}${check.stderr}`);
    const logFile = path.join(dir, 'unbound.log');
    const log = () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    };
    const proc = spawn(unboundBinary(dir), ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        exited = true;
        resolve();
      });
      proc.once('error', (err) => {
        output += `spawn error: ${err.message}`;
        exited = true;
        resolve();
      });
    });
    const stop = async () => {
      if (!exited) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      // Ready when it answers version.server CH TXT itself (no query reaches Meridian).
      await until(
        async () => {
          if (exited) throw new Error('unbound exited');
          const raw = await udpRaw(
            port,
            buildQuery({ name: 'version.server', type: 'TXT', qclass: 'CH' }),
            '127.0.0.1',
            200,
          );
          if (!raw) return false;
          const r = decodeReply(raw);
          return r.rcode === 0 && (r.packet.answers ?? []).length > 0;
        },
        'unbound to answer version.server',
        10_000,
        50,
      );
      return { port, dir, proc, log, stop };
    } catch (err) {
      lastError = `${(err as Error).message}\nunbound output:\n${output}\nunbound log:\n${log()}`;
      await stop();
    }
  }
  throw new Error(`could not start unbound: ${lastError}`);
}
