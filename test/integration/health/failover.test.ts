/**
 * Health-driven failover end to end: a real server probes real HTTP(S)/TCP
 * endpoints started by the test on 127.0.0.1, and DNS answers for a Frankfurt
 * client (ECS 1.0.0.0/24 in the fixture database) move from fra (192.0.2.1)
 * to the next candidate lon (192.0.2.2) when fra's endpoint fails, and back
 * when it recovers. Conditions are polled with deadlines; no timing asserts.
 */
import { Writable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PopHealth } from '../../../src/health/monitor.js';
import { createLogger } from '../../../src/util/logger.js';
import { MeridianServer } from '../../../src/plane/server.js';
import { popsYaml, TEST_POPS, testConfig } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { startServer, tempDir } from '../../helpers/server.js';
import { getJson, metric, metricSum, scrape } from '../ops/admin-http.js';
import { BlackHole, closedPort, HttpTarget, selfSignedCert, TcpTarget, type HttpMode } from './targets.js';

const FRA = '192.0.2.1';
const LON = '192.0.2.2';
/** Frankfurt in the fixture city database. */
const FRA_CLIENT = '1.0.0.0/24';
/** The geo record's ttl and ttl_degraded in STATIC_ZONE. */
const TTL = 30;
const TTL_DEGRADED = 10;
/** Generous deadline for "within interval x fall + one interval" (0.6 s here). */
const DEADLINE = 8_000;

/** A fast HTTP check of 127.0.0.1:<port>/health expecting 200 and "OK". */
function httpCheck(
  port: number,
  o: {
    fall?: number;
    rise?: number;
    type?: 'http' | 'https';
    extra?: string;
    interval?: string;
    timeout?: string;
  } = {},
): string {
  return (
    `health: { type: ${o.type ?? 'http'}, target: 127.0.0.1, port: ${port}, path: /health, expect_body: OK, ` +
    `interval: ${o.interval ?? '200ms'}, timeout: ${o.timeout ?? '100ms'}, fall: ${o.fall ?? 2}, rise: ${o.rise ?? 2}, jitter: 0${o.extra ? `, ${o.extra}` : ''} }`
  );
}

function tcpCheck(port: number, o: { fall?: number; rise?: number; initial?: 'up' | 'down' } = {}): string {
  return `health: { type: tcp, target: 127.0.0.1, port: ${port}, interval: 200ms, timeout: 100ms, fall: ${o.fall ?? 2}, rise: ${o.rise ?? 2}, jitter: 0, initial: ${o.initial ?? 'up'} }`;
}

/** The test config with per-PoP health YAML. */
function config(health: Record<string, string>, o: { policies?: string; extra?: string; zones?: string } = {}): string {
  return testConfig({ pops: popsYaml(TEST_POPS, health), ...o });
}

interface Answer {
  addrs: string[];
  ttl: number | undefined;
}

async function cdn(port: number, client = FRA_CLIENT): Promise<Answer> {
  const r = await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs: client });
  expect(r.rcode).toBe(0);
  return { addrs: addresses(r), ttl: (r.packet.answers?.[0] as { ttl?: number } | undefined)?.ttl };
}

/** Poll until the Frankfurt client is answered with `addr`; returns that answer. */
async function answersWith(port: number, addr: string, what: string, client = FRA_CLIENT): Promise<Answer> {
  const found = await until(
    async () => {
      const a = await cdn(port, client);
      return a.addrs[0] === addr ? a : null;
    },
    what,
    DEADLINE,
    20,
  );
  return found!;
}

async function pops(adminPort: number): Promise<Map<string, PopHealth>> {
  const list = await getJson<PopHealth[]>(adminPort, '/admin/pops');
  return new Map(list.map((p) => [p.id, p]));
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

describe('failover: each failure mode of fra moves the answer to lon and recovery brings it back', () => {
  const MODES: Array<{ mode: HttpMode; reason: string }> = [
    { mode: '500', reason: 'status 500' },
    { mode: 'slow', reason: 'timeout' },
    { mode: 'body', reason: 'body mismatch' },
    { mode: 'closed', reason: 'refused' },
  ];

  it.each(MODES)('HTTP $mode -> reason "$reason"', async ({ mode, reason }) => {
    const target = track(await HttpTarget.start({ slowMs: 400 }));
    const t = track(await startServer(config({ fra: httpCheck(target.port) })));
    const admin = t.server.adminPort!;
    // Healthy: fra, normal TTL, and the probe has actually run.
    await until(() => target.probes >= 2, 'probes reach the healthy target');
    expect(await cdn(t.port)).toEqual({ addrs: [FRA], ttl: TTL });

    await target.set(mode);
    const degraded = await answersWith(t.port, LON, `answer moves to lon after ${mode}`);
    expect(degraded.ttl).toBe(TTL_DEGRADED);
    const m = await scrape(admin);
    expect(metric(m, 'meridian_probe_failures_total', { pop: 'fra', reason })).toBeGreaterThanOrEqual(2);
    // Only this reason was seen for fra.
    expect(metricSum(m, 'meridian_probe_failures_total', { pop: 'fra' })).toBe(
      metric(m, 'meridian_probe_failures_total', { pop: 'fra', reason }),
    );
    expect(metric(m, 'meridian_pop_up', { pop: 'fra' })).toBe(0);
    expect(metric(m, 'meridian_pop_serving', { pop: 'fra' })).toBe(0);
    expect(metric(m, 'meridian_pop_transitions_total', { pop: 'fra', to: 'down' })).toBe(1);
    const fra = (await pops(admin)).get('fra')!;
    expect(fra).toMatchObject({
      checked: true,
      up: false,
      serving: false,
      lastFailure: reason,
      target: `127.0.0.1:${target.port}`,
    });

    await target.set('ok');
    const back = await answersWith(t.port, FRA, 'answer returns to fra after recovery');
    expect(back.ttl).toBe(TTL);
    expect((await pops(admin)).get('fra')).toMatchObject({ up: true, serving: true, lastFailure: null });
    const m2 = await scrape(admin);
    expect(metric(m2, 'meridian_pop_transitions_total', { pop: 'fra', to: 'up' })).toBe(1);
    expect(metric(m2, 'meridian_pop_up', { pop: 'fra' })).toBe(1);
  });

  it('TCP check: a closed port -> "refused"; listening again -> back', async () => {
    const target = track(await TcpTarget.start());
    const t = track(await startServer(config({ fra: tcpCheck(target.port) })));
    await until(() => target.accepted >= 2, 'TCP probes connect');
    expect((await cdn(t.port)).addrs).toEqual([FRA]);
    await target.set(false);
    expect((await answersWith(t.port, LON, 'lon after the TCP port closes')).ttl).toBe(TTL_DEGRADED);
    const m = await scrape(t.server.adminPort!);
    expect(metric(m, 'meridian_probe_failures_total', { pop: 'fra', reason: 'refused' })).toBeGreaterThanOrEqual(2);
    expect((await pops(t.server.adminPort!)).get('fra')).toMatchObject({ up: false, lastFailure: 'refused' });
    await target.set(true);
    expect((await answersWith(t.port, FRA, 'fra after the TCP port reopens')).ttl).toBe(TTL);
  });

  it('the degraded answer is per client: clients whose first choice is healthy keep the normal TTL', async () => {
    const target = track(await HttpTarget.start());
    const t = track(await startServer(config({ fra: httpCheck(target.port) })));
    await target.set('500');
    await answersWith(t.port, LON, 'lon for Frankfurt');
    // A Sydney client (6.0.0.0/16) is answered by syd, unaffected.
    expect(await cdn(t.port, '6.0.1.0/24')).toEqual({ addrs: ['192.0.2.6'], ttl: TTL });
    // A London client (2.10.0.0/16) is answered by lon, normal TTL (lon is its first choice).
    expect(await cdn(t.port, '2.10.1.0/24')).toEqual({ addrs: [LON], ttl: TTL });
  });
});

describe('a check set only in health.defaults, each PoP giving just its port (as docs/config.md shows)', () => {
  // Each PoP answers with its own loopback address, which is also what it is
  // probed at (no `target:`): the check comes from health.defaults alone.
  const ADDR = { fra: '127.0.0.11', lon: '127.0.0.12', nyc: '127.0.0.13' } as const;

  it('every PoP is probed at its own address and port, and the answer moves when fra dies', async () => {
    const targets = {
      fra: track(await HttpTarget.start({ host: ADDR.fra })),
      lon: track(await HttpTarget.start({ host: ADDR.lon })),
      nyc: track(await HttpTarget.start({ host: ADDR.nyc })),
    };
    const popYaml = (id: keyof typeof ADDR, health: string) => {
      const p = TEST_POPS[id];
      return `  ${id}: { location: [${p.lat}, ${p.lon}], ipv4: [${ADDR[id]}], health: ${health} }`;
    };
    const yaml = testConfig({
      pops: [
        popYaml('fra', `{ port: ${targets.fra.port} }`),
        popYaml('lon', `{ port: ${targets.lon.port}, host: edge.example.net }`),
        popYaml('nyc', `{ port: ${targets.nyc.port} }`),
      ].join('\n'),
      extra:
        'health:\n  defaults: { type: http, path: /healthz, expect_status: [200, 204], expect_body: OK, interval: 200ms, timeout: 100ms, fall: 2, rise: 2 }\n',
    });
    const t = track(await startServer(yaml));
    const admin = t.server.adminPort!;
    await until(() => Object.values(targets).every((x) => x.probes >= 2), 'every PoP is probed');
    const status = await pops(admin);
    for (const id of ['fra', 'lon', 'nyc'] as const) {
      expect(status.get(id), id).toMatchObject({
        checked: true,
        up: true,
        serving: true,
        target: `${ADDR[id]}:${targets[id].port}`,
      });
      expect(status.get(id)!.probes, id).toBeGreaterThanOrEqual(2);
      expect(targets[id].lastPath, id).toBe('/healthz');
    }
    // Per-PoP fields override just themselves: lon sends its host, the others the address.
    expect(targets.lon.lastHost).toBe(`edge.example.net:${targets.lon.port}`);
    expect(targets.fra.lastHost).toBe(`${ADDR.fra}:${targets.fra.port}`);
    expect((await cdn(t.port)).addrs).toEqual([ADDR.fra]);

    await targets.fra.set('closed');
    expect(await answersWith(t.port, ADDR.lon, 'the Frankfurt answer moves to lon')).toEqual({
      addrs: [ADDR.lon],
      ttl: TTL_DEGRADED,
    });
    expect((await pops(admin)).get('fra')).toMatchObject({ up: false, serving: false, lastFailure: 'refused' });
    expect(metric(await scrape(admin), 'meridian_pop_up', { pop: 'fra' })).toBe(0);

    await targets.fra.set('ok');
    expect(await answersWith(t.port, ADDR.fra, 'fra returns once its endpoint is back')).toEqual({
      addrs: [ADDR.fra],
      ttl: TTL,
    });
  });
});

describe('HTTPS checks with a self-signed certificate', () => {
  let dir: string;
  let tls: { key: Buffer; cert: Buffer };
  beforeAll(() => {
    dir = tempDir('meridian-tls-');
    tls = selfSignedCert(dir);
  });

  it('tls_verify true: the probe fails with "tls error" and fra leaves the answers', async () => {
    const target = track(await HttpTarget.start({ tls }));
    const t = track(
      await startServer(config({ fra: httpCheck(target.port, { type: 'https', extra: 'tls_verify: true' }) })),
    );
    await answersWith(t.port, LON, 'lon while fra fails TLS verification');
    const m = await scrape(t.server.adminPort!);
    expect(metric(m, 'meridian_probe_failures_total', { pop: 'fra', reason: 'tls error' })).toBeGreaterThanOrEqual(2);
    expect((await pops(t.server.adminPort!)).get('fra')).toMatchObject({ up: false, lastFailure: 'tls error' });
  });

  it('tls_verify false: the same endpoint is healthy (fra starting down comes up)', async () => {
    const target = track(await HttpTarget.start({ tls }));
    const t = track(
      await startServer(
        config({ fra: httpCheck(target.port, { type: 'https', extra: 'tls_verify: false, initial: down' }) }),
      ),
    );
    // Starts down (initial: down): the probes must bring it up.
    expect(await until(async () => (await pops(t.server.adminPort!)).get('fra'), 'fra status')).toBeTruthy();
    await answersWith(t.port, FRA, 'fra after two successful HTTPS probes');
    expect(target.probes).toBeGreaterThanOrEqual(2);
    const m = await scrape(t.server.adminPort!);
    expect(metricSum(m, 'meridian_probe_failures_total', { pop: 'fra' })).toBe(0);
    expect(metric(m, 'meridian_pop_transitions_total', { pop: 'fra', to: 'up' })).toBe(1);
  });

  afterAll(async () => {
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('hysteresis', () => {
  it('with fall 3, exactly one failed probe does not move traffic', async () => {
    const target = track(await HttpTarget.start());
    const t = track(await startServer(config({ fra: httpCheck(target.port, { fall: 3 }) })));
    await until(() => target.probes >= 2, 'healthy probes');
    target.failNext('500');
    await until(() => target.failedProbes.length === 1, 'the one failing probe is served');
    const failedAt = target.failedProbes[0];
    // Keep asking while several more probes run after the failure.
    const seen = new Set<string>();
    while (target.probes < failedAt + 4) {
      const a = await cdn(t.port);
      seen.add(`${a.addrs.join(',')}/${a.ttl}`);
    }
    expect([...seen]).toEqual([`${FRA}/${TTL}`]);
    expect(target.failedProbes).toEqual([failedAt]);
    const m = await scrape(t.server.adminPort!);
    expect(metric(m, 'meridian_probe_failures_total', { pop: 'fra', reason: 'status 500' })).toBe(1);
    expect(metric(m, 'meridian_pop_transitions_total', { pop: 'fra', to: 'down' }) ?? 0).toBe(0);
    expect((await pops(t.server.adminPort!)).get('fra')).toMatchObject({ up: true, serving: true, lastFailure: null });
  });
});

describe('fail open', () => {
  it('every candidate of a decision down: the first candidate is still answered, counted and logged', async () => {
    // candidates: 2 -> the Frankfurt decision is [fra, lon]; both probed against closed ports.
    const fraPort = await closedPort();
    const lonTarget = track(await TcpTarget.start());
    await lonTarget.set(false);
    const dir = tempDir('meridian-failopen-');
    const configFile = path.join(dir, 'meridian.yaml');
    writeFileSync(
      configFile,
      config(
        { fra: tcpCheck(fraPort), lon: tcpCheck(lonTarget.port) },
        {
          policies: `  nearest:
    candidates: 2
    steps:
      - nearest: {}
    fallback: [fra, nyc]`,
        },
      ),
    );
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    const logger = createLogger({ destination, level: 'info' });
    const server = await MeridianServer.start({ configFile, listen: ['127.0.0.1:0'], admin: '127.0.0.1:0', logger });
    cleanups.push(() => server.close(100));
    const port = server.addresses[0].port;
    const admin = server.adminPort!;

    await until(
      async () => {
        const p = await pops(admin);
        return !p.get('fra')!.up && !p.get('lon')!.up;
      },
      'fra and lon down',
      DEADLINE,
    );
    const before = metric(await scrape(admin), 'meridian_fail_open_answers_total') ?? 0;
    const N = 7;
    for (let i = 0; i < N; i++) {
      // Fail open: the unfiltered ranking, so fra (the first candidate); the TTL is the degraded one.
      expect(await cdn(port)).toEqual({ addrs: [FRA], ttl: TTL_DEGRADED });
    }
    const m = await scrape(admin);
    expect(metric(m, 'meridian_fail_open_answers_total')).toBe(before + N);
    expect(metric(m, 'meridian_fail_open_decisions', { record: 'cdn.example.net' })).toBeGreaterThan(0);
    // Clients whose decision still has a serving PoP are not fail-open (Sydney -> syd).
    expect(await cdn(port, '6.0.1.0/24')).toEqual({ addrs: ['192.0.2.6'], ttl: TTL });
    expect(metric(await scrape(admin), 'meridian_fail_open_answers_total')).toBe(before + N);

    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; record?: string });
    const warn = logged.find((l) => l.msg.includes('fail-open') && l.record === 'cdn.example.net');
    expect(warn).toBeDefined();
    expect(warn!.level).toBe(40);

    // lon comes back: the Frankfurt client gets lon (degraded), fail-open is over and says so.
    await lonTarget.set(true);
    expect(await answersWith(port, LON, 'lon once it is back')).toEqual({ addrs: [LON], ttl: TTL_DEGRADED });
    await until(
      () => lines.some((l) => l.includes('fail-open over') && l.includes('cdn.example.net')),
      '"fail-open over" log',
    );
    expect(metric(await scrape(admin), 'meridian_fail_open_decisions', { record: 'cdn.example.net' })).toBe(0);
  });
});

describe('a hanging endpoint', () => {
  it('costs one timeout per probe, holds at most one connection, and the other PoPs keep being probed', async () => {
    const hole = track(await BlackHole.start());
    const lonTarget = track(await HttpTarget.start());
    // One probe at a time: a hung fra probe must not starve lon's.
    const t = track(
      await startServer(
        config(
          { fra: httpCheck(hole.port), lon: httpCheck(lonTarget.port) },
          { extra: 'health:\n  max_in_flight: 1\n' },
        ),
      ),
    );
    const admin = t.server.adminPort!;
    await answersWith(t.port, LON, 'lon while fra hangs');
    expect((await pops(admin)).get('fra')).toMatchObject({ up: false, lastFailure: 'timeout' });
    const lonProbesAtDown = lonTarget.probes;
    const holeAtDown = hole.accepted;
    await until(
      () => hole.accepted >= holeAtDown + 4 && lonTarget.probes >= lonProbesAtDown + 4,
      'both PoPs keep being probed',
    );
    const m = await scrape(admin);
    const timeouts = metric(m, 'meridian_probe_failures_total', { pop: 'fra', reason: 'timeout' })!;
    const accepted = hole.accepted;
    // One connection per probe, each ended by one timeout (the newest may still be running).
    expect(timeouts).toBeGreaterThanOrEqual(accepted - 1);
    expect(timeouts).toBeLessThanOrEqual(accepted);
    // Timed-out probes close their connection: they do not pile up.
    expect(hole.maxOpen).toBe(1);
    expect(metricSum(m, 'meridian_probe_failures_total', { pop: 'lon' })).toBe(0);
    expect((await pops(admin)).get('lon')).toMatchObject({ up: true, serving: true });
  });
});

describe('reload keeps health state', () => {
  it('a down PoP stays down across reloads (changed TTL, then changed check): no flap back to `initial`', async () => {
    const target = track(await HttpTarget.start());
    const t = track(await startServer(config({ fra: httpCheck(target.port) })));
    const admin = t.server.adminPort!;
    await target.set('500');
    await answersWith(t.port, LON, 'lon while fra returns 500');

    // Query continuously while the config is rewritten.
    const seen: Answer[] = [];
    let stop = false;
    const querier = (async () => {
      while (!stop) seen.push(await cdn(t.port));
    })();
    try {
      // 1: same health check, changed TTLs.
      t.writeConfig(
        config({ fra: httpCheck(target.port) }).replace(
          'cdn: { policy: nearest, ttl: 30, ttl_degraded: 10 }',
          'cdn: { policy: nearest, ttl: 31, ttl_degraded: 12 }',
        ),
      );
      await until(async () => (await cdn(t.port)).ttl === 12, 'new TTL in effect');
      // 2: changed health check (rise 3): the PoP keeps its verdict under the new check.
      t.writeConfig(
        config({ fra: httpCheck(target.port, { rise: 3 }) }).replace(
          'cdn: { policy: nearest, ttl: 30, ttl_degraded: 10 }',
          'cdn: { policy: nearest, ttl: 31, ttl_degraded: 11 }',
        ),
      );
      await until(async () => (await cdn(t.port)).ttl === 11, 'second reload in effect');
      // A few more probes under the new config.
      const p = target.probes;
      await until(() => target.probes >= p + 3, 'probes after the reload');
    } finally {
      stop = true;
      await querier;
    }
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((a) => a.addrs[0] !== LON)).toEqual([]);
    expect(new Set(seen.map((a) => a.ttl))).toEqual(new Set([10, 12, 11]));
    expect((await pops(admin)).get('fra')).toMatchObject({ up: false, lastFailure: 'status 500' });
    const m = await scrape(admin);
    expect(metric(m, 'meridian_config_reloads_total', { result: 'success' })).toBe(2);
    expect(metric(m, 'meridian_pop_transitions_total', { pop: 'fra', to: 'up' }) ?? 0).toBe(0);

    // Recovery under the new config (rise 3) brings fra back with the new normal TTL.
    await target.set('ok');
    expect(await answersWith(t.port, FRA, 'fra after recovery')).toEqual({ addrs: [FRA], ttl: 31 });
  });
});

describe('detection time (printed for the docs, not asserted)', () => {
  it('interval 1s, fall 2: time from the endpoint failing to the first moved answer', async () => {
    const target = track(await HttpTarget.start());
    const t = track(
      await startServer(
        config({
          fra: httpCheck(target.port, { interval: '1s', timeout: '500ms', fall: 2, extra: 'jitter: 0.1' }).replace(
            'jitter: 0, ',
            '',
          ),
        }),
      ),
    );
    await until(() => target.probes >= 1, 'first probe', DEADLINE);
    expect((await cdn(t.port)).addrs).toEqual([FRA]);
    const t0 = performance.now();
    await target.set('500');
    await until(async () => (await cdn(t.port)).addrs[0] === LON, 'answer moves', 10_000, 5);
    const t1 = performance.now();
    console.log(
      `[meridian] health detection-to-answer: ${Math.round(t1 - t0)} ms (interval 1s, timeout 500ms, fall 2, jitter 0.1; single run)`,
    );
  });
});
