/**
 * Issue 15 end to end: the ECS scopes of the answer a client gets now, over
 * UDP, on the production default (config/meridian.yaml with the installed
 * DB-IP Lite City databases).
 *
 * - Soundness in several health states (all up, one PoP forced down, a PoP
 *   drained): for random public /24s and random /56s of allocated IPv6 space,
 *   every address re-queried inside a returned scope gets the same answer,
 *   and answer and scope are exactly those computed in the test's own thread
 *   from the compiled policy and the health flags (test/helpers/scope-oracle.ts):
 *   the server's background merge, hand-over and query path add nothing.
 * - A failover under a running query stream: every query is answered, and
 *   every reply carries an answer and a scope of one and the same health
 *   state (the scope of that state's current answer, or the full-ranking
 *   scope, sound in every state, while the merge runs); the merged scopes of
 *   the new state arrive within a deadline.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../src/build/snapshot.js';
import { prng } from '../../../src/geo/clients.js';
import type { Override } from '../../../src/health/state-machine.js';
import { MeridianServer } from '../../../src/plane/server.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { ROOT } from '../../helpers/server.js';
import { scopeOracle } from '../../helpers/scope-oracle.js';
import { isPublic } from '../../../bench/public-v4.js';
import { withEcs } from './support.js';

const CONFIG = path.join(ROOT, 'config', 'meridian.yaml');
const NAME = 'cdn.example.net';

let server: MeridianServer;
let port: number;
let snapshot: Snapshot;

beforeAll(async () => {
  server = await MeridianServer.start({ configFile: CONFIG, listen: ['127.0.0.1:0'], admin: null, watch: false });
  port = server.addresses[0].port;
  snapshot = server.runtime.snapshot;
}, 120_000);
afterAll(() => server?.close(100));

/** What one health state answers (test/helpers/scope-oracle.ts). */
function oracleFor(serving: Uint8Array) {
  return { expect: scopeOracle(snapshot, NAME, serving) };
}

const popIndex = (id: string) => snapshot.pops.findIndex((p) => p.id === id);
const flags = (...down: string[]) => Uint8Array.from(snapshot.pops, (p) => (down.includes(p.id) ? 0 : 1));

/** Set overrides (null clears) and wait for the merged scopes of the resulting state to be served. */
async function setState(overrides: Record<string, Override | null>): Promise<number> {
  const t0 = performance.now();
  for (const [pop, o] of Object.entries(overrides)) await server.control.setOverride(pop, o);
  await until(
    () => {
      const h = server.runtime.health;
      return h.scopes !== null && h.scopes.epoch === h.view.epoch;
    },
    'merged scopes of the new health state',
    60_000,
  );
  return performance.now() - t0;
}

/** An address as text, from its bytes. */
function text(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return [...bytes.subarray(0, 4)].join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return words.join(':');
}

/** `bytes` with the bits from `from` on replaced by random ones. */
function randomInside(bytes: Uint8Array, from: number, rand: () => number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = from; bit < out.length * 8; bit++) {
    const mask = 0x80 >> (bit & 7);
    if (rand() < 0.5) out[bit >> 3] |= mask;
    else out[bit >> 3] &= ~mask;
  }
  return out;
}

/** Random public /24s and random /56s of the five RIRs' IPv6 space (2001::/16, 2400::/12, 2600::/12, 2800::/12, 2a00::/12, 2c00::/12). */
function clients(seed: number, n4: number, n6: number): Array<{ family: 4 | 6; bytes: Uint8Array; source: number }> {
  const rand = prng(seed);
  const out: Array<{ family: 4 | 6; bytes: Uint8Array; source: number }> = [];
  while (out.filter((c) => c.family === 4).length < n4) {
    const a = Math.floor(rand() * 256);
    const b = Math.floor(rand() * 256);
    if (isPublic(a, b)) out.push({ family: 4, bytes: Uint8Array.of(a, b, Math.floor(rand() * 256), 0), source: 24 });
  }
  const v6Bases = [0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00];
  for (let i = 0; i < n6; i++) {
    const base = v6Bases[Math.floor(rand() * v6Bases.length)];
    const bytes = new Uint8Array(16);
    bytes[0] = base >> 8;
    bytes[1] = base & 0xff;
    const random = randomInside(bytes, base === 0x2001 ? 16 : 12, rand);
    random.fill(0, 7); // a /56
    out.push({ family: 6, bytes: random, source: 56 });
  }
  return out;
}

async function ask(family: 4 | 6, bytes: Uint8Array, source: number) {
  const r = await udpQuery(port, withEcs(NAME, family === 4 ? 'A' : 'AAAA', `${text(family, bytes)}/${source}`));
  return { answer: addresses(r), scope: r.ecs!.scope };
}

describe('scopes of the current answer over UDP on DB-IP: sound and exact in every health state', {
  timeout: 300_000,
}, () => {
  const states: Array<{ name: string; overrides: Record<string, Override | null>; down: string[] }> = [
    { name: 'all up', overrides: {}, down: [] },
    { name: 'fra forced down', overrides: { fra: 'force-down' }, down: ['fra'] },
    { name: 'fra down, iad drained', overrides: { iad: 'drain' }, down: ['fra', 'iad'] },
    { name: 'iad drained', overrides: { fra: null }, down: ['iad'] },
  ];
  let seed = 1500;
  for (const state of states) {
    it(`${state.name}: every address re-queried inside a returned scope gets the same answer`, async () => {
      await setState(state.overrides);
      expect(server.runtime.health.view.serving).toEqual(flags(...state.down));
      const oracle = oracleFor(flags(...state.down));
      const rand = prng(++seed);
      let wider = 0;
      let asked = 0;
      for (const c of clients(seed, 150, 100)) {
        const got = await ask(c.family, c.bytes, c.source);
        const want = oracle.expect(c.family, c.bytes, c.source);
        const where = `${text(c.family, c.bytes)}/${c.source} (${state.name})`;
        expect(got, where).toEqual({ answer: want.answer, scope: want.current });
        for (const id of state.down) {
          const p = snapshot.pops[popIndex(id)];
          expect(got.answer, where).not.toContain(c.family === 4 ? p.ipv4[0] : p.ipv6[0]);
        }
        if (want.current < want.full) wider++;
        // Three other networks inside the scope (a source-length network: the scope may be wider or narrower).
        for (let i = 0; i < 3; i++) {
          const inside = randomInside(c.bytes, Math.min(got.scope, c.source), rand);
          inside.fill(0, Math.ceil(c.source / 8));
          const again = await ask(c.family, inside, c.source);
          asked++;
          expect(again.answer, `${text(c.family, inside)}/${c.source} inside ${where}/${got.scope}`).toEqual(
            got.answer,
          );
        }
      }
      expect(asked).toBe(750);
      // The point of the issue: somewhere the current answer's scope is wider than the full ranking's.
      expect(wider).toBeGreaterThan(0);
    });
  }
});

describe('a failover under a query stream: answer and scope of one health state, nothing lost', {
  timeout: 300_000,
}, () => {
  it('fra forced down and back while 8 clients query without pause', async () => {
    await setState({ fra: null, iad: null });
    const up = oracleFor(flags());
    const down = oracleFor(flags('fra'));
    const sample = clients(77, 120, 40);
    let stop = false;
    let sent = 0;
    const bad: string[] = [];
    const stream = async (k: number) => {
      for (let i = k; !stop; i += 8) {
        const c = sample[i % sample.length];
        sent++;
        const got = await ask(c.family, c.bytes, c.source); // throws when a query is lost
        const fits = [up, down].some((o) => {
          const want = o.expect(c.family, c.bytes, c.source);
          return (
            JSON.stringify(got.answer) === JSON.stringify(want.answer) &&
            (got.scope === want.current || got.scope === want.full)
          );
        });
        if (!fits) bad.push(`${text(c.family, c.bytes)}/${c.source}: ${got.answer.join(' ')} scope ${got.scope}`);
      }
    };
    const streams = Array.from({ length: 8 }, (_, k) => stream(k));
    const before = sent;
    await until(() => sent > before + 200, 'the stream running');
    const toDown = await setState({ fra: 'force-down' });
    const atDown = sent;
    await until(() => sent > atDown + 200, 'queries in the fra-down state');
    const toUp = await setState({ fra: null });
    const atUp = sent;
    await until(() => sent > atUp + 200, 'queries after fra is back');
    stop = true;
    await Promise.all(streams);
    expect(bad).toEqual([]);
    console.log(
      `failover stream: ${sent} queries, none lost; merged scopes served ${Math.round(toDown)} ms after fra went down, ${Math.round(toUp)} ms after it came back (kept tries)`,
    );
  });
});
