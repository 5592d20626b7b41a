/**
 * Issue 15 for every policy kind, end to end over UDP: a latency step with
 * tolerance groups (modelled RTTs and a measured table), PoP weights ordering
 * inside a group, and spill (fra spills 50 % of its first-choice /22s to the
 * next candidate), on the fixture city database; one record with max_answers
 * 1 and one with 2. In several health states (all up, fra forced down, lon
 * drained): for random /24s and /56s the answer and the ECS scope are those
 * computed in the test's own thread (test/helpers/scope-oracle.ts: answer of
 * the compiled decision now, scope of the tries merged by that answer), and
 * three networks re-queried inside every returned scope get the same answer
 * (a merge across spill blocks only where the spilled answers are equal).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../../src/geo/clients.js';
import type { Override } from '../../../src/health/state-machine.js';
import { CITY_DB, popsYaml, TEST_POPS } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { scopeOracle } from '../../helpers/scope-oracle.js';
import { startServer, type TestServer } from '../../helpers/server.js';

const CONFIG = `
server: { identity: "scopes-policies-test" }
admin: { listen: 127.0.0.1:0 }
geo:
  databases: [${JSON.stringify(CITY_DB)}]
  latency_table: latency.csv
pops:
${popsYaml(TEST_POPS, { fra: 'spill: 50', lon: 'weight: 3', nyc: 'weight: 2' })}
policies:
  lat:
    candidates: 3
    steps:
      - latency: { tolerance_ms: 20, tolerance_pct: 25 }
    fallback: [fra, nyc]
    spill_granularity_v4: 22
    spill_granularity_v6: 44
zones:
  - origin: example.net.
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [198.51.100.53] }
    geo:
      cdn: { policy: lat, ttl: 30, ttl_degraded: 10 }
      pair: { policy: lat, ttl: 30, ttl_degraded: 10, max_answers: 2 }
`;
const TABLE = `client,pop,rtt_ms,samples
1.0.1.0/24,nyc,5,900
1.0.1.0/24,fra,40,900
1.1.0.0/16,lon,5,300
JP,syd,1,50
JP,tyo,30,50
`;

let t: TestServer;
beforeAll(async () => {
  t = await startServer(CONFIG, { files: { 'latency.csv': TABLE } });
  await t.server.control.scopesSettled();
}, 60_000);
afterAll(() => t?.close());

const text = (family: 4 | 6, b: Uint8Array) =>
  family === 4
    ? [...b.subarray(0, 4)].join('.')
    : Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16)).join(':');

/** `bytes` with the bits from `from` up to `to` random (the rest kept). */
function randomBits(bytes: Uint8Array, from: number, to: number, rand: () => number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = from; bit < to; bit++) {
    const mask = 0x80 >> (bit & 7);
    if (rand() < 0.5) out[bit >> 3] |= mask;
    else out[bit >> 3] &= ~mask;
  }
  return out;
}

const states: Array<{ name: string; overrides: Record<string, Override | null>; down: string[] }> = [
  { name: 'all up', overrides: {}, down: [] },
  { name: 'fra forced down', overrides: { fra: 'force-down' }, down: ['fra'] },
  { name: 'lon drained', overrides: { fra: null, lon: 'drain' }, down: ['lon'] },
];

describe('current-answer scopes with latency tolerance groups, weights and spill, over UDP', () => {
  let seed = 40;
  for (const state of states)
    it(`${state.name}: answers and scopes as computed here, every network inside a scope answered alike`, async () => {
      for (const [pop, o] of Object.entries(state.overrides)) await t.server.control.setOverride(pop, o);
      await until(() => {
        const h = t.server.runtime.health;
        return (
          h.scopes !== null &&
          h.scopes.epoch === h.view.epoch &&
          state.down.every((id) => h.view.serving[t.server.runtime.snapshot.pops.findIndex((p) => p.id === id)] === 0)
        );
      }, `the merged scopes of ${state.name}`);
      const snapshot = t.server.runtime.snapshot;
      const serving = Uint8Array.from(snapshot.pops, (p) => (state.down.includes(p.id) ? 0 : 1));
      const rand = prng(++seed);
      let widerThanSpillBlocks = 0;
      for (const record of ['cdn.example.net', 'pair.example.net']) {
        const expected = scopeOracle(snapshot, record, serving);
        for (let i = 0; i < 120; i++) {
          const family: 4 | 6 = i % 4 === 3 ? 6 : 4;
          const source = family === 4 ? 24 : 56;
          // IPv4: 1-12.x.x.0 (the fixture networks and the space between); IPv6: inside 2a01::/16 ... 2c0f::/16.
          const base =
            family === 4
              ? randomBits(Uint8Array.of(1 + Math.floor(rand() * 12), 0, 0, 0), 8, 24, rand)
              : randomBits(
                  Uint8Array.from([
                    ...[
                      [0x2a, 0x01],
                      [0x2a, 0x02],
                      [0x26, 0x00],
                      [0x24, 0x00],
                      [0x28, 0x00],
                    ][Math.floor(rand() * 5)],
                    ...new Uint8Array(14),
                  ]),
                  16,
                  56,
                  rand,
                );
          const type = family === 4 ? 'A' : 'AAAA';
          const want = expected(family, base, source);
          const r = await udpQuery(t.port, { name: record, type, ecs: `${text(family, base)}/${source}` });
          const where = `${record} ${type} ${text(family, base)}/${source} (${state.name})`;
          expect({ answer: addresses(r), scope: r.ecs?.scope }, where).toEqual({
            answer: want.answer,
            scope: want.current,
          });
          if (want.current < (family === 4 ? 22 : 44) && want.current < want.full) widerThanSpillBlocks++;
          for (let k = 0; k < 3; k++) {
            const inside = randomBits(base, Math.min(want.current, source), source, rand);
            const again = await udpQuery(t.port, { name: record, type, ecs: `${text(family, inside)}/${source}` });
            expect(addresses(again), `${text(family, inside)}/${source} inside ${where}/${want.current}`).toEqual(
              want.answer,
            );
          }
        }
      }
      // Scopes wider than a spill block (/22, /44) where the full ranking is narrower: merges across spill blocks happen.
      expect(widerThanSpillBlocks).toBeGreaterThan(0);
    });
});
