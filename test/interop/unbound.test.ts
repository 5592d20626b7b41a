/**
 * A real ECS-speaking resolver in front of Meridian: Unbound with its
 * subnetcache module, stub-zoned to the server under test. Clients talk to
 * Unbound with their own EDNS Client Subnet option (dig +subnet=...), Unbound
 * forwards it and caches the answer under the SCOPE Meridian returned; the
 * server's own counters (GET /metrics) tell how many queries reached it.
 *
 * What we learned about Unbound 1.17's subnetcache (by experiment):
 *  - With `client-subnet-always-forward: yes`, a client's own ECS option is
 *    forwarded to the stub (subject to max-client-subnet-ipv4/6), and the
 *    regular message cache is skipped for such queries. Without the option
 *    Unbound would only send ECS to addresses in `send-client-subnet`; we list
 *    127.0.0.1 there so that queries without ECS carry 127.0.0.0/24 (the
 *    resolver's view of its client), which is how Meridian sees them.
 *  - Varying the client by source address (dig -b 127.0.0.N) is useless here:
 *    with max-client-subnet-ipv4 24 every 127.0.0.N truncates to the same
 *    127.0.0.0/24, and all of 127/8 is one fixture network (Berlin) anyway.
 *    Client ECS is what works, so the tests use it.
 *  - The answer is stored in the subnet cache under ADDRESS/SCOPE: a second
 *    client inside the scope (1.0.200.0/24 after 1.0.1.0/24 with scope /13)
 *    is answered from cache, and Unbound echoes the cached scope to it.
 *  - An answer with SCOPE 0 (a static name) is cached once for everybody.
 *  - A CNAME answered with scope 0 (to-geo -> cdn) is followed by Unbound, and
 *    the combined answer is cached under the scope of the geo target.
 * Each test gets a fresh Unbound (cold cache) on a fresh port.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STATIC_ZONE, testConfig } from '../helpers/configs.js';
import { prng } from '../../src/geo/clients.js';
import { buildQuery, decodeReply, udpRaw } from '../helpers/dns.js';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  DIG,
  UNBOUND,
  UNBOUND_CHECKCONF,
  digOne,
  metricSum,
  rdata,
  requireTool,
  scrape,
  type ToolMessage,
} from './tools.js';
import { startUnbound, type Unbound } from './unbound-process.js';

let t: TestServer;

/** Queries Meridian answered so far (from its own /metrics). */
async function upstream(): Promise<{ a: number; aaaa: number; all: number; ecs4: number; ecs6: number }> {
  const s = await scrape(t.server.adminPort!);
  return {
    a: metricSum(s, 'meridian_queries_total', { qtype: 'A' }),
    aaaa: metricSum(s, 'meridian_queries_total', { qtype: 'AAAA' }),
    all: metricSum(s, 'meridian_queries_total'),
    ecs4: metricSum(s, 'meridian_ecs_queries_total', { family: 'ipv4' }),
    ecs6: metricSum(s, 'meridian_ecs_queries_total', { family: 'ipv6' }),
  };
}

/** Run `fn` and return what it returned plus how many queries Meridian saw meanwhile. */
async function counting<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; a: number; aaaa: number; all: number; ecs4: number; ecs6: number }> {
  const before = await upstream();
  const value = await fn();
  const after = await upstream();
  return {
    value,
    a: after.a - before.a,
    aaaa: after.aaaa - before.aaaa,
    all: after.all - before.all,
    ecs4: after.ecs4 - before.ecs4,
    ecs6: after.ecs6 - before.ecs6,
  };
}

let ub: Unbound;

/** A client of Unbound (recursion desired, as a stub resolver sends it). */
const viaUnbound = (...args: string[]): Promise<ToolMessage> =>
  digOne(DIG, ['@127.0.0.1', '-p', String(ub.port), '+nocookie', '+time=5', '+tries=1', ...args]);
/** Straight to Meridian. */
const direct = (...args: string[]): Promise<ToolMessage> =>
  digOne(DIG, ['@127.0.0.1', '-p', String(t.port), '+norec', '+nocookie', '+time=3', '+tries=1', ...args]);

function prefixOf(addr: string, bits: number): string {
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const masked = bits === 0 ? 0 : Math.floor(n / 2 ** (32 - bits)) * 2 ** (32 - bits);
  return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${bits}`;
}

beforeAll(async () => {
  requireTool(UNBOUND, 'unbound');
  requireTool(UNBOUND_CHECKCONF, 'unbound');
  requireTool(DIG, 'bind9-dnsutils');
  // `legacy` is `cdn` with the full-ranking scopes of before issue 15, for the comparison below.
  const zones = STATIC_ZONE.replace(
    '      "@": { policy: nearest }',
    '      "@": { policy: nearest }\n      legacy: { policy: nearest, ttl: 30, ttl_degraded: 10, scopes: full_ranking }',
  );
  if (zones === STATIC_ZONE) throw new Error('STATIC_ZONE has no apex geo record');
  t = await startServer(testConfig({ zones }));
});

afterAll(async () => {
  await t?.close();
});

beforeEach(async () => {
  ub = await startUnbound(t.port);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`unbound log (${ub.dir}):\n${ub.log()}`);
  await ub?.stop();
});

describe('unbound (subnetcache) in front of Meridian', () => {
  it('the two Frankfurt /24s really share one scope (checked directly), and Sydney is outside it', async () => {
    const a = await direct('cdn.example.net', 'A', '+subnet=1.0.1.0/24');
    const b = await direct('cdn.example.net', 'A', '+subnet=1.0.200.0/24');
    const c = await direct('cdn.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(rdata(a.answer, 'A')).toEqual(['192.0.2.1']);
    expect(rdata(b.answer, 'A')).toEqual(['192.0.2.1']);
    expect(rdata(c.answer, 'A')).toEqual(['192.0.2.6']);
    const scope = a.ecs!.scope;
    expect(scope).toBeGreaterThan(0);
    expect(scope).toBeLessThanOrEqual(16);
    expect(b.ecs!.scope).toBe(scope);
    expect(prefixOf('1.0.200.0', scope)).toBe(prefixOf('1.0.1.0', scope));
    expect(prefixOf('6.0.1.0', scope)).not.toBe(prefixOf('1.0.1.0', scope));
  });

  it('two clients in one merged scope cost ONE upstream query; a client in another scope costs another', async () => {
    const first = await counting(() => viaUnbound('cdn.example.net', 'A', '+subnet=1.0.1.0/24'));
    expect(first.value.status).toBe('NOERROR');
    expect(rdata(first.value.answer, 'A')).toEqual(['192.0.2.1']);
    expect(first.a).toBe(1);
    expect(first.ecs4).toBe(1); // Unbound forwarded the client's subnet
    expect(first.all).toBe(1);
    // Unbound tells its client the scope Meridian gave.
    expect(first.value.ecs).toMatchObject({ address: '1.0.1.0', source: 24 });
    const scope = first.value.ecs!.scope;
    expect(scope).toBeGreaterThan(0);

    const second = await counting(() => viaUnbound('cdn.example.net', 'A', '+subnet=1.0.200.0/24'));
    expect(rdata(second.value.answer, 'A')).toEqual(['192.0.2.1']);
    expect(second.a).toBe(0); // served from Unbound's subnet cache
    expect(second.all).toBe(0);
    expect(second.value.ecs).toMatchObject({ address: '1.0.200.0', source: 24, scope });

    const syd = await counting(() => viaUnbound('cdn.example.net', 'A', '+subnet=6.0.1.0/24'));
    expect(rdata(syd.value.answer, 'A')).toEqual(['192.0.2.6']);
    expect(syd.a).toBe(1);
    expect(syd.ecs4).toBe(1);
    expect(syd.value.ecs!.scope).toBeGreaterThan(0);

    // And both cache entries keep serving their own clients.
    const again = await counting(async () => [
      await viaUnbound('cdn.example.net', 'A', '+subnet=1.0.77.0/24'),
      await viaUnbound('cdn.example.net', 'A', '+subnet=6.0.99.0/24'),
    ]);
    expect(again.a).toBe(0);
    expect(rdata(again.value[0].answer, 'A')).toEqual(['192.0.2.1']);
    expect(rdata(again.value[1].answer, 'A')).toEqual(['192.0.2.6']);
  });

  it('IPv6 client subnets: one upstream query per IPv6 scope', async () => {
    const first = await counting(() => viaUnbound('cdn.example.net', 'AAAA', '+subnet=2401::/48'));
    expect(rdata(first.value.answer, 'AAAA')).toEqual(['2001:db8::6']);
    expect(first.aaaa).toBe(1);
    expect(first.ecs6).toBe(1);
    const scope = first.value.ecs!.scope;
    expect(scope).toBeGreaterThan(0);
    expect(scope).toBeLessThanOrEqual(16); // 2401::/16 is one fixture network
    const same = await counting(() => viaUnbound('cdn.example.net', 'AAAA', '+subnet=2401:ffff::/48'));
    expect(rdata(same.value.answer, 'AAAA')).toEqual(['2001:db8::6']);
    expect(same.aaaa).toBe(0);
    const fra = await counting(() => viaUnbound('cdn.example.net', 'AAAA', '+subnet=2a01::/48'));
    expect(rdata(fra.value.answer, 'AAAA')).toEqual(['2001:db8::1']);
    expect(fra.aaaa).toBe(1);
  });

  it('a static name answered with scope 0 is fetched once and shared by every client subnet', async () => {
    const first = await counting(() => viaUnbound('www.example.net', 'A', '+subnet=6.0.1.0/24'));
    expect(rdata(first.value.answer, 'A')).toEqual(['198.51.100.10']);
    expect(first.a).toBe(1);
    expect(first.value.ecs?.scope ?? 0).toBe(0);
    const others = await counting(async () => [
      await viaUnbound('www.example.net', 'A', '+subnet=1.0.1.0/24'),
      await viaUnbound('www.example.net', 'A', '+subnet=7.0.1.0/24'),
    ]);
    expect(others.a).toBe(0);
    for (const m of others.value) expect(rdata(m.answer, 'A')).toEqual(['198.51.100.10']);
  });

  it('a client without ECS: Unbound sends its own view (127.0.0.0/24, Berlin) and gets fra', async () => {
    const r = await counting(() => viaUnbound('cdn.example.net', 'A'));
    expect(rdata(r.value.answer, 'A')).toEqual(['192.0.2.1']);
    expect(r.a).toBe(1);
    expect(r.ecs4).toBe(1);
  });

  it('a CNAME into the geo record (to-geo -> cdn): Unbound follows it and every client gets its own PoP', async () => {
    const syd = await counting(() => viaUnbound('to-geo.example.net', 'A', '+subnet=6.0.1.0/24'));
    expect(syd.value.status).toBe('NOERROR');
    expect(rdata(syd.value.answer, 'CNAME')).toEqual(['cdn.example.net.']);
    expect(rdata(syd.value.answer, 'A')).toEqual(['192.0.2.6']);
    expect(syd.a).toBeGreaterThanOrEqual(1);
    const fra = await viaUnbound('to-geo.example.net', 'A', '+subnet=1.0.1.0/24');
    expect(rdata(fra.answer, 'A')).toEqual(['192.0.2.1']);
    // The same Sydney scope again is answered from cache.
    const again = await counting(() => viaUnbound('to-geo.example.net', 'A', '+subnet=6.0.200.0/24'));
    expect(rdata(again.value.answer, 'A')).toEqual(['192.0.2.6']);
    expect(again.a).toBe(0);
  });

  it('scopes of the current answer (cdn) cost fewer upstream queries than full-ranking scopes (legacy) for the same client mix, every answer correct', async () => {
    // Random /24s of 1.0.0.0-12.255.255.255: the fixture networks (each geolocates to a known city) and the space between them.
    const rand = prng(3);
    const clients = Array.from(
      { length: 160 },
      () => `${1 + Math.floor(rand() * 12)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.0/24`,
    );
    const run = (name: string) =>
      counting(async () => {
        for (const c of clients) {
          const got = await viaUnbound(name, 'A', `+subnet=${c}`);
          // The answer Meridian gives this client directly (a cache entry of the wrong scope would show here).
          const want = decodeReply((await udpRaw(t.port, buildQuery({ name, type: 'A', ecs: c }), '127.0.0.1', 2000))!);
          const addressesOf = (r: { packet: { answers?: unknown[] } }) =>
            (r.packet.answers ?? []).map((a) => String((a as { data: unknown }).data));
          expect(rdata(got.answer, 'A'), `${name} for ${c}`).toEqual(addressesOf(want));
        }
      });
    const current = await run('cdn.example.net');
    const full = await run('legacy.example.net');
    // Unbound's queries only (the direct checks are counted too: one per client each run).
    const upstreamCurrent = current.a - clients.length;
    const upstreamFull = full.a - clients.length;
    expect(upstreamCurrent).toBeGreaterThan(0);
    expect(upstreamCurrent).toBeLessThan(upstreamFull);
    console.log(
      `${clients.length} client /24s through Unbound's subnetcache: ${upstreamCurrent} upstream queries with current-answer scopes, ${upstreamFull} with full-ranking scopes`,
    );
  });

  it('cross-check with the in-process counters: every upstream query carried ECS', async () => {
    const c = t.server.counters;
    const before = { ecs4: c.ecs[1], none: c.ecs[0] };
    const jnb = await viaUnbound('cdn.example.net', 'A', '+subnet=8.0.1.0/24');
    const nyc = await viaUnbound('cdn.example.net', 'A', '+subnet=3.0.1.0/24');
    expect(rdata(jnb.answer, 'A')).toEqual(['192.0.2.8']);
    expect(rdata(nyc.answer, 'A')).toEqual(['192.0.2.3']);
    expect(c.ecs[1] - before.ecs4).toBe(2);
    expect(c.ecs[0] - before.none).toBe(0);
  });
});
