/**
 * Client populations for the simulator: a CSV the operator exports
 * (`network,weight`: a CIDR or an address, weight = traffic share, default 1)
 * or a synthetic world sample drawn from the geo database itself (located
 * IPv4 /24s and IPv6 /48s, deterministic for a seed).
 */
import { formatPrefix, parsePrefix, type Prefix } from '../net/ip.js';
import type { OpenedDatabases } from './open.js';
import { extractLocation, hasCoordinates } from './location.js';
import { runSteps, runStepsAsync } from '../util/steps.js';

export interface SimClient {
  prefix: Prefix;
  text: string;
  weight: number;
}

export function parseClients(text: string, file: string): SimClient[] {
  const out: SimClient[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line || /^network\b/i.test(line)) return;
    const [net, w] = line.split(',').map((c) => c.trim());
    let prefix: Prefix;
    try {
      prefix = parsePrefix(net.includes('/') ? net : `${net}/${net.includes(':') ? 128 : 32}`);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: ${(err as Error).message}`);
    }
    const weight = w === undefined || w === '' ? 1 : Number(w);
    if (!Number.isFinite(weight) || weight < 0)
      throw new Error(`${file}:${i + 1}: weight "${w}" is not a non-negative number`);
    out.push({ prefix, text: formatPrefix(prefix), weight });
  });
  if (out.length === 0) throw new Error(`${file}: no client networks`);
  return out;
}

/** mulberry32: a small deterministic PRNG so a seed always gives the same sample. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draw `n` located client networks (about 1 in 8 IPv6 /48 when the database has IPv6). */
export function generateClients(dbs: OpenedDatabases, n: number, seed = 1): SimClient[] {
  return runSteps(generating(dbs, n, seed));
}

/** generateClients() in slices, the event loop free in between. */
export function generateClientsAsync(dbs: OpenedDatabases, n: number, seed = 1): Promise<SimClient[]> {
  return runStepsAsync(generating(dbs, n, seed));
}

function* generating(dbs: OpenedDatabases, n: number, seed: number): Generator<void, SimClient[]> {
  const rand = prng(seed);
  const out: SimClient[] = [];
  const seen = new Set<string>();
  for (let tries = 0; out.length < n && tries < n * 200; tries++) {
    if (tries % 128 === 127) yield;
    const v6 = dbs.city6 !== null && rand() < 0.125;
    const tree = v6 ? dbs.city6 : dbs.city4;
    if (!tree) continue;
    const bytes = new Uint8Array(v6 ? 16 : 4);
    if (v6) {
      bytes[0] = 0x20 | Math.floor(rand() * 16); // 2000::/4: where IPv6 clients are
      for (let i = 1; i < 6; i++) bytes[i] = Math.floor(rand() * 256);
    } else {
      for (let i = 0; i < 3; i++) bytes[i] = Math.floor(rand() * 256);
    }
    const len = v6 ? 48 : 24;
    const { record } = tree.db.lookupRecord(tree.root, bytes, v6 ? 128 : 32);
    if (record <= tree.db.nodeCount) continue;
    if (!hasCoordinates(extractLocation(tree.db, tree.db.dataOffset(record)))) continue;
    const prefix: Prefix = { family: v6 ? 6 : 4, bytes, length: len };
    const text = formatPrefix(prefix);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ prefix, text, weight: 1 });
  }
  return out;
}
