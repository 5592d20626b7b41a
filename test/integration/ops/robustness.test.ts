/**
 * A process that never dies on one bad path: the batched UDP callback is
 * guarded per datagram, datagrams over a 4 KiB slot are dropped and counted,
 * the uncaught-error policy logs, counts and keeps serving (and exits 70 on
 * a burst), and worker restarts back off.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restartDelayMs } from '../../../src/plane/cluster.js';
import { batchAddon, listenUdpBatch } from '../../../src/transport/udp-batch.js';
import { testConfig } from '../../helpers/configs.js';
import { addresses, buildQuery, udpQuery, until } from '../../helpers/dns.js';
import { ROOT, startServer, tempDir } from '../../helpers/server.js';
import { metric, scrape } from './admin-http.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function sendRaw(port: number, bytes: Buffer): Promise<void> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => s.send(bytes, port, '127.0.0.1', () => (s.close(), resolve())));
}

describe.runIf(batchAddon() !== null)('batched UDP', () => {
  it('a datagram over 4 KiB is dropped and counted as oversized; the server keeps answering', async () => {
    const t = await startServer(testConfig());
    cleanups.push(() => t.close());
    const big = Buffer.concat([buildQuery({ name: 'www.example.net' }), Buffer.alloc(5000)]);
    await sendRaw(t.port, big);
    await until(
      async () =>
        metric(await scrape(t.server.adminPort!), 'meridian_dropped_packets_total', { reason: 'oversized' }) === 1,
      'oversized datagram counted',
    );
    expect(addresses(await udpQuery(t.port, { name: 'www.example.net' }))).toEqual(['198.51.100.10']);
  });

  it('a handler that throws costs its own datagram only: the rest of the batch is answered, the error counted', async () => {
    const listener = listenUdpBatch(batchAddon()!, '127.0.0.1', 0, (msg, len, _family, _addr, _off, dest, destOff) => {
      if (msg[2] === 0xee) throw new Error('boom');
      msg.copy(dest, destOff, 0, len);
      return len;
    });
    cleanups.push(() => listener.close());
    const sock = dgram.createSocket('udp4');
    cleanups.push(() => {
      sock.close();
    });
    const echoes: Buffer[] = [];
    sock.on('message', (m) => echoes.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const packet = (tag: number) => Buffer.from([1, 2, tag, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const tag of [1, 0xee, 2, 0xee, 3]) sock.send(packet(tag), listener.port, '127.0.0.1');
    await until(() => echoes.length === 3, 'the three good datagrams echoed');
    expect(echoes.map((e) => e[2]).sort()).toEqual([1, 2, 3]);
    await until(() => listener.counters().handlerErrors === 2, 'two errors counted');
  });
});

describe('the uncaught-error policy', () => {
  /** Run a script that installs the policy, then does `body`; returns exit code and output. */
  async function run(body: string): Promise<{ code: number | null; out: string }> {
    const dir = tempDir('meridian-guard-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'guard.ts');
    writeFileSync(
      file,
      `import { installProcessGuard, uncaughtCounts } from ${JSON.stringify(path.join(ROOT, 'src', 'plane', 'process-guard.ts'))};
import { createLogger } from ${JSON.stringify(path.join(ROOT, 'src', 'util', 'logger.ts'))};
installProcessGuard(createLogger({ level: 'info' }));
${body}`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, out };
  }

  it('an exception thrown from a callback and a rejected promise are logged with the stack, counted, and the process goes on', async () => {
    const r = await run(`
setTimeout(() => { throw new Error('thrown in a timer'); }, 10);
setTimeout(() => { void Promise.reject(new Error('rejected promise')); }, 20);
setTimeout(() => { console.log('COUNTS ' + JSON.stringify(uncaughtCounts())); process.exit(0); }, 200);
`);
    expect(r.code).toBe(0);
    expect(r.out).toContain('COUNTS {"exception":1,"rejection":1}');
    expect(r.out).toMatch(/uncaught exception: logged and counted; still serving/);
    expect(r.out).toMatch(/thrown in a timer/);
    expect(r.out).toMatch(/rejected promise/);
  }, 30_000);

  it('a burst of errors (more than 10 in a minute) ends the process with code 70 so a fresh one takes over', async () => {
    const r = await run(`
for (let i = 0; i < 12; i++) setTimeout(() => { throw new Error('again ' + i); }, 5 * i);
setTimeout(() => process.exit(0), 2000);
`);
    expect(r.code).toBe(70);
    expect(r.out).toMatch(/exceptions keep escaping \(11 in a minute\): exiting/);
  }, 30_000);
});

describe('worker restart backoff', () => {
  it('doubles per crash in a row from 0.25 s up to 30 s; 0 after a worker that ran a while', () => {
    expect([0, 1, 2, 3, 4, 8, 9, 20].map(restartDelayMs)).toEqual([0, 250, 500, 1000, 2000, 30_000, 30_000, 30_000]);
  });
});
