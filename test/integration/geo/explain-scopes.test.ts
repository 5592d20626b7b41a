/**
 * Issue 15 in /explain of a running server: both ECS scopes (of the answer
 * given now and of the full failover ranking), which one the server returns,
 * and why they differ, under the live health state; they agree with what the
 * server answers over UDP and with the scopes computed in the test's own
 * thread (test/helpers/scope-oracle.ts). Also the metrics of the scopes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExplainResult, formatExplain } from '../../../src/inspect/explain.js';
import { STATIC_ZONE, testConfig } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { scopeOracle } from '../../helpers/scope-oracle.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { getJson, metric, scrape } from '../ops/admin-http.js';
import { withEcs } from './support.js';

let t: TestServer;
let admin: number;

beforeAll(async () => {
  const zones = STATIC_ZONE.replace(
    '      "@": { policy: nearest }',
    '      "@": { policy: nearest }\n      legacy: { policy: nearest, scopes: full_ranking }',
  );
  t = await startServer(testConfig({ zones }));
  admin = t.server.adminPort!;
  await t.server.control.scopesSettled();
});
afterAll(() => t?.close());

const explainOf = (name: string, client: string) =>
  getJson<ExplainResult>(admin, `/explain?name=${name}&type=A&client=${encodeURIComponent(client)}`);

/** Fixture /24s (1-12.x) whose current-answer scope is wider than their full-ranking scope under `down`. */
function widened(down: string[]): string[] {
  const s = t.server.runtime.snapshot;
  const expected = scopeOracle(
    s,
    'cdn.example.net',
    Uint8Array.from(s.pops, (p) => (down.includes(p.id) ? 0 : 1)),
  );
  const out: string[] = [];
  for (let a = 1; a <= 12; a++)
    for (let b = 0; b < 256; b += 3) {
      const e = expected(4, Uint8Array.of(a, b, 0, 0), 24);
      if (e.current < e.full) out.push(`${a}.${b}.0.0/24`);
    }
  return out;
}

async function expectExplained(client: string, down: string[]): Promise<ExplainResult> {
  const s = t.server.runtime.snapshot;
  const expected = scopeOracle(
    s,
    'cdn.example.net',
    Uint8Array.from(s.pops, (p) => (down.includes(p.id) ? 0 : 1)),
  )(4, Uint8Array.from(client.split('/')[0].split('.').map(Number)), 24);
  const ex = await explainOf('cdn.example.net', client);
  const udp = await udpQuery(t.port, withEcs('cdn.example.net', 'A', client));
  expect(ex.answers).toEqual(expected.answer);
  expect(addresses(udp)).toEqual(expected.answer);
  expect(ex.scopes).toMatchObject({
    current: expected.current,
    fullRanking: expected.full,
    returned: 'current',
    agrees: true,
  });
  expect(ex.scope).toBe(expected.current);
  expect(udp.ecs!.scope).toBe(expected.current);
  return ex;
}

describe('/explain: the scope of the current answer, the full-ranking scope, and why they differ', () => {
  it('all up: a network inside the wider scope is ranked otherwise but answered alike', async () => {
    const clients = widened([]);
    expect(clients.length).toBeGreaterThan(0);
    const ex = await expectExplained(clients[0], []);
    const s = ex.scopes!;
    expect(s.current).toBeLessThan(s.fullRanking);
    // The neighbour the reason names: inside the current scope, another ranking, the same answer now.
    expect(s.neighbour).toBeDefined();
    expect(s.neighbour!.decision).not.toEqual(ex.decision);
    expect(s.neighbour!.answer).toEqual([ex.pop]);
    expect(s.reason).toContain(s.neighbour!.network);
    expect(s.reason).toMatch(/ranks .* but is answered .* now, as this client is/);
    const text = formatExplain(ex);
    expect(text).toContain(
      `scope: /${s.current} for the answer given now, /${s.fullRanking} for the full ranking; returned: /${s.current} (current answer)`,
    );
    expect(text).toContain(`why: ${s.reason}`);
  });

  it('after fra is forced down: the figures of the new state, equal to what UDP returns', async () => {
    await t.server.control.setOverride('fra', 'force-down');
    await until(() => {
      const h = t.server.runtime.health;
      return h.view.serving[0] === 0 && h.scopes !== null && h.scopes.epoch === h.view.epoch;
    }, 'the merged scopes of fra down');
    const clients = widened(['fra']);
    expect(clients.length).toBeGreaterThan(0);
    for (const c of clients.slice(0, 5)) {
      const ex = await expectExplained(c, ['fra']);
      expect(ex.pop).not.toBe('fra');
    }
    // A client that fra served: its answer and scope now follow fra's absence.
    const fraClient = await expectExplained('1.0.1.0/24', ['fra']);
    expect(fraClient.decision![0]).toBe('fra');
    expect(fraClient.degraded).toBe(true);
    await t.server.control.setOverride('fra', null);
  });

  it('a record configured scopes: full_ranking returns the full-ranking scope and says so', async () => {
    const client = widened([])[0];
    await until(() => t.server.runtime.health.view.serving[0] === 1, 'fra back');
    const ex = await explainOf('legacy.example.net', client);
    const udp = await udpQuery(t.port, withEcs('legacy.example.net', 'A', client));
    expect(ex.scopes).toMatchObject({ returned: 'full_ranking', agrees: true });
    expect(ex.scopes!.current).toBeLessThan(ex.scopes!.fullRanking);
    expect(ex.scope).toBe(ex.scopes!.fullRanking);
    expect(udp.ecs!.scope).toBe(ex.scopes!.fullRanking);
    expect(ex.scopes!.reason).toContain('configured scopes: full_ranking');
  });

  it('metrics: distinct scopes per record and basis, merges by outcome', async () => {
    await t.server.control.scopesSettled();
    const m = await scrape(admin);
    const of = (record: string, basis: string) =>
      metric(m, 'meridian_record_scopes', { record, type: 'A', family: 'ipv4', basis });
    const p = t.server.runtime.snapshot.policies[0];
    expect(of('legacy.example.net', 'full_ranking')).toBe(p.stats.leaves4);
    expect(of('cdn.example.net', 'current')).toBeGreaterThan(0);
    expect(of('cdn.example.net', 'current')).toBeLessThan(p.stats.leaves4);
    expect(metric(m, 'meridian_scope_merge_pending')).toBe(0);
    expect(metric(m, 'meridian_scope_merges_total', { outcome: 'merged' })).toBeGreaterThanOrEqual(2);
    expect(metric(m, 'meridian_scope_merges_total', { outcome: 'reused' })).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'meridian_scope_tries_bytes')).toBeGreaterThan(0);
  });
});
