/**
 * The real `meridian serve` process: cluster mode (workers share the
 * listeners, metrics are summed, a killed worker is restarted), SIGHUP reload,
 * and graceful shutdown (SIGTERM: in-flight TCP queries answered, exit 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addresses, buildQuery, decodeReply, tcpQuery, udpQuery, until } from '../../helpers/dns.js';
import { testConfig } from '../../helpers/configs.js';
import { SourcedUdp, stream } from '../../helpers/sourced.js';
import { ROOT, tempDir } from '../../helpers/server.js';
import { scopeOracle } from '../../helpers/scope-oracle.js';
import { buildSnapshotFromFile } from '../../../src/build/snapshot.js';
import { prng } from '../../../src/geo/clients.js';
import { FIXTURE_NETWORKS, fixtureFamily } from '../../../geo-data/fixture-networks.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function serve(args: string[], yaml = testConfig()) {
  const dir = tempDir();
  const config = path.join(dir, 'meridian.yaml');
  writeFileSync(config, yaml);
  const port = await freePort();
  const admin = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'src', 'cli.ts'),
      'serve',
      '--config',
      config,
      '--listen',
      `127.0.0.1:${port}`,
      '--admin',
      `127.0.0.1:${admin}`,
      '--log-level',
      'info',
      ...args,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  await until(
    async () => addresses(await udpQuery(port, { name: 'www.example.net' })).length === 1,
    'server up',
    60_000,
    200,
  );
  const metrics = () => fetch(`http://127.0.0.1:${admin}/metrics`).then((r) => r.text());
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, port, admin, config, metrics, exited, log: () => log };
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

// Real processes that load TypeScript through tsx (and fork workers that do too)
// start slowly on a loaded 2-core machine: give each test room.
describe('meridian serve as a process', { timeout: 120_000 }, () => {
  it("cluster mode: every worker answers with the scopes of the current answer, and a health change brings the new state's scopes to all of them", async () => {
    const yaml = testConfig().replace(
      'admin:\n  listen: 127.0.0.1:0',
      'admin:\n  listen: 127.0.0.1:0\n  state_file: state',
    );
    const s = await serve(['--workers', '2'], yaml);
    await until(async () => metric(await s.metrics(), 'meridian_workers') === 2, 'two workers reporting');
    const snapshot = buildSnapshotFromFile(s.config);
    // The first /24 of every fixture IPv4 network (what each geolocates to is known) and a few around them.
    const rand = prng(15);
    const clients = [
      ...FIXTURE_NETWORKS.filter((n) => fixtureFamily(n.cidr) === 4 && !n.cidr.startsWith('127.')).map(
        (n) => n.cidr.split('/')[0],
      ),
      ...Array.from(
        { length: 30 },
        () => `${1 + Math.floor(rand() * 12)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.0`,
      ),
    ];
    /** Every client, asked often enough to reach both workers, gets the state's answer and current-answer scope. */
    const matches = async (down: string[]) => {
      const expected = scopeOracle(
        snapshot,
        'cdn.example.net',
        Uint8Array.from(snapshot.pops, (p) => (down.includes(p.id) ? 0 : 1)),
      );
      let wider = 0;
      for (let round = 0; round < 3; round++)
        for (const c of clients) {
          const want = expected(4, Uint8Array.from(c.split('.').map(Number)), 24);
          const r = await udpQuery(s.port, { name: 'cdn.example.net', ecs: `${c}/24` });
          if (JSON.stringify(addresses(r)) !== JSON.stringify(want.answer) || r.ecs?.scope !== want.current)
            return false;
          if (want.current < want.full) wider++;
        }
      // The state tells the two kinds of scope apart somewhere (else the check would prove nothing).
      expect(wider).toBeGreaterThan(0);
      return true;
    };
    await until(() => matches([]), 'current-answer scopes with every PoP up, from both workers', 30_000, 200);
    writeFileSync(path.join(path.dirname(s.config), 'state'), 'fra DOWN\nsyd DRAIN\n');
    await until(
      () => matches(['fra', 'syd']),
      'the scopes of fra down and syd drained, from both workers',
      30_000,
      200,
    );
    const text = await s.metrics();
    expect(text).toMatch(
      /^meridian_record_scopes\{record="cdn\.example\.net",type="A",family="ipv4",basis="current"\} \d+$/m,
    );
    expect(metric(text, 'meridian_scope_merge_pending')).toBe(0);
    expect(text).toMatch(/^meridian_scope_merges_total\{outcome="merged"\} [1-9]/m);
    s.child.kill('SIGTERM');
  });

  it('cluster mode: two workers answer, metrics are summed, a killed worker is restarted', async () => {
    const s = await serve(['--workers', '2']);
    await until(async () => metric(await s.metrics(), 'meridian_workers') === 2, 'two workers reporting');
    for (let i = 0; i < 50; i++) await udpQuery(s.port, { name: 'cdn.example.net', ecs: '6.0.1.0/24' });
    await tcpQuery(s.port, { name: 'www.example.net' });
    await until(
      async () =>
        /meridian_queries_total\{transport="udp",qtype="A",rcode="NOERROR"\} (\d+)/.exec(await s.metrics())?.[1] ===
        String(50 + 1),
      'udp counts summed over workers',
    );
    expect(await s.metrics()).toMatch(/meridian_queries_total\{transport="tcp",qtype="A",rcode="NOERROR"\} 1/);
    // The scope histogram is summed over the workers, per family; build info and reload status come through.
    const text = await s.metrics();
    expect(text).toMatch(/^meridian_ecs_scope_prefix_length_count\{family="ipv4"\} 50$/m);
    expect(text).toMatch(/^meridian_ecs_scope_prefix_length_count\{family="ipv6"\} 0$/m);
    expect(text).toMatch(/^meridian_build_info\{version="\d+\.\d+\.\d+[^"]*",node="[^"]+",udp="(batched|dgram)"\} 1$/m);
    expect(metric(text, 'meridian_config_last_reload_success')).toBe(1);
    // Process metrics under their standard names, aggregated over the primary and both workers:
    // resident memory is the sum of the three processes' (each one alone is far less).
    const rssOf = (pid: number) =>
      Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    const { execFileSync: pgrep } = await import('node:child_process');
    const pids = [
      s.child.pid!,
      ...pgrep('pgrep', ['-P', String(s.child.pid), '-f', 'cli.ts serve'])
        .toString()
        .trim()
        .split('\n')
        .map(Number),
    ];
    expect(pids).toHaveLength(3);
    const rss = metric(text, 'process_resident_memory_bytes');
    const sum = pids.reduce((n, pid) => n + rssOf(pid), 0);
    expect(rss).toBeGreaterThan(sum * 0.7);
    expect(rss).toBeLessThan(sum * 1.3);
    expect(rss).toBeGreaterThan(rssOf(s.child.pid!) * 1.5);
    // The start time is the primary's (the service's), not a sum.
    expect(metric(text, 'process_start_time_seconds')).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(metric(text, 'process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
    expect(text).not.toMatch(/^meridian_process_/m);
    // Kill one worker: it is restarted and counted, and answers keep coming.
    const { execFileSync } = await import('node:child_process');
    // The primary's children that are workers (tsx may also run an esbuild helper process).
    const workers = execFileSync('pgrep', ['-P', String(s.child.pid), '-f', 'cli.ts serve'])
      .toString()
      .trim()
      .split('\n')
      .map(Number);
    expect(workers.length).toBe(2);
    process.kill(workers[0], 'SIGKILL');
    await until(
      async () =>
        metric(await s.metrics(), 'meridian_worker_restarts_total') === 1 &&
        metric(await s.metrics(), 'meridian_workers') === 2,
      'worker restarted',
    );
    expect(addresses(await udpQuery(s.port, { name: 'www.example.net' }))).toEqual(['198.51.100.10']);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('cluster mode: a worker that keeps dying is restarted with a growing backoff, visible in metrics and /readyz', async () => {
    const s = await serve(['--workers', '1']);
    const { execFileSync } = await import('node:child_process');
    const worker = () =>
      execFileSync('pgrep', ['-P', String(s.child.pid), '-f', 'cli.ts serve'])
        .toString()
        .trim()
        .split('\n')
        .map(Number)[0];
    for (let crash = 1; crash <= 3; crash++) {
      await until(async () => metric(await s.metrics(), 'meridian_workers') === 1, `worker ${crash} answering`);
      process.kill(worker(), 'SIGKILL'); // each dies well within 10 s of its start: crashes in a row
      await until(
        async () => metric(await s.metrics(), 'meridian_worker_restarts_total') === crash,
        `crash ${crash} counted`,
      );
      // 0.25 s, 0.5 s, 1 s
      expect(metric(await s.metrics(), 'meridian_worker_restart_backoff_seconds')).toBe(0.25 * 2 ** (crash - 1));
    }
    const ready = (await (await fetch(`http://127.0.0.1:${s.admin}/readyz`)).json()) as {
      workers: { restarts: number; backoffSeconds: number; failedSlots: number };
    };
    expect(ready.workers).toEqual({ restarts: 3, backoffSeconds: 1, failedSlots: 0 });
    expect(metric(await s.metrics(), 'meridian_worker_slots_failed')).toBe(0);
    await until(
      async () => addresses(await udpQuery(s.port, { name: 'www.example.net' })).length === 1,
      'answers again after the backoff',
    );
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('cluster mode: a reload reaches every worker', async () => {
    const s = await serve(['--workers', '2']);
    writeFileSync(s.config, testConfig().replace('198.51.100.10', '198.51.100.11'));
    s.child.kill('SIGHUP');
    // Every query (spread over the workers by the kernel) must see the new answer.
    await until(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) seen.add(addresses(await udpQuery(s.port, { name: 'www.example.net' }))[0]);
        return seen.size === 1 && seen.has('198.51.100.11');
      },
      `new answer on all workers (log: ${s.log().slice(-2000)})`,
      60_000,
    );
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('cluster mode: cookies made by one worker are valid on the other; RRL shares the limit and /admin/rrl merges the workers', async () => {
    const s = await serve(['--workers', '2'], testConfig({ extra: 'rrl: { responses_per_second: 20, exempt: [] }\n' }));
    await until(async () => metric(await s.metrics(), 'meridian_workers') === 2, 'two workers reporting');
    const labelled = (text: string, name: string, label: string) =>
      Number(new RegExp(`^${name}\\{${label}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    // No secret configured: the primary drew one for both workers. The kernel spreads the
    // datagrams over the workers at random, so 40 queries reach both.
    const client = await SourcedUdp.bind('127.0.51.1');
    try {
      const first = await client.query(s.port, { name: 'mail.example.net', cookie: Buffer.alloc(8, 0xab) });
      const cookie = first!.cookie!;
      const proven = await stream(client, s.port, 40, () => ({ name: 'mail.example.net', cookie }), { tickMs: 5 });
      expect([proven.full, proven.badcookie]).toEqual([40, 0]);
      expect(proven.replies.every((r) => r.cookie?.equals(cookie))).toBe(true);
      expect(labelled(await s.metrics(), 'meridian_cookies_total', 'result="valid"')).toBe(40);
    } finally {
      client.close();
    }
    // A flood from one /24: each worker allows ceil(20 / 2) = 10 a second, together the limit.
    const flooder = await SourcedUdp.bind('127.0.50.1');
    try {
      const flood = await stream(flooder, s.port, 300, () => ({ name: 'www.example.net' }), {
        perTick: 30,
        tickMs: 10,
      });
      expect(flood.full).toBeGreaterThanOrEqual(10);
      expect(flood.full).toBeLessThanOrEqual(Math.ceil(20 * (flood.elapsedMs / 1000 + 1)) + 10);
      expect(flood.slipped).toBeGreaterThan(0);
    } finally {
      flooder.close();
    }
    const view = (await (await fetch(`http://127.0.0.1:${s.admin}/admin/rrl?limit=50`)).json()) as {
      buckets: Array<{ network: string; kind: string; name: string | null; limitedNow: boolean; responses: number }>;
    };
    const rows = view.buckets.filter((b) => b.network === '127.0.50.0/24');
    // One row for the bucket both workers hold, with both workers' responses.
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'answer', name: 'www.example.net.', limitedNow: true, responses: 300 });
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('graceful shutdown: a TCP query sent just before SIGTERM is answered, then exit 0', async () => {
    const s = await serve(['--workers', '0']);
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    const q = buildQuery({ name: 'www.example.net', id: 4242 });
    const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
    sock.write(framed);
    s.child.kill('SIGTERM');
    const code = await s.exited;
    expect(code).toBe(0);
    expect(replies.length).toBe(1);
    const r = decodeReply(replies[0]);
    expect(r.packet.id).toBe(4242);
    expect(addresses(r)).toEqual(['198.51.100.10']);
    expect(s.log()).toMatch(/shutting down/);
    sock.destroy();
  });
});
