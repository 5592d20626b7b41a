/**
 * Cache fragmentation: for 10,000 random public IPv4 /24s against the default
 * config and database, the ECS scope Meridian returns next to the prefix
 * length of the database network the /24 falls in, and how many distinct
 * cache entries (prefix/scope pairs) resolvers would hold.
 *   node --import tsx bench/scopes.ts [CONFIG] [N]
 */
import path from 'node:path';
import { Runtime } from '../src/build/runtime.js';
import { buildSnapshotFromFile } from '../src/build/snapshot.js';
import { openDatabases } from '../src/geo/open.js';
import { publicSlash24s } from './public-v4.js';
import { buildQuery, decodeReply } from '../test/helpers/dns.js';
import { InProcessListener } from '../test/helpers/in-process.js';

const file = path.resolve(process.argv[2] ?? 'config/meridian.yaml');
const n = Number(process.argv[3] ?? 10000);
const snapshot = buildSnapshotFromFile(file);
const rt = new Runtime(snapshot);
const listener = new InProcessListener(rt);
const city = snapshot.databases.filter((d) => d.usedFor.includes('ipv4')).map((d) => d.file);
const db = openDatabases(city, null).city4!;
const name = snapshot.geoRecords[0].name;

const scopes = new Map<number, number>();
const dbLens = new Map<number, number>();
const entries = new Set<string>();
const networks = new Set<string>();
let sumScope = 0;
let sumDb = 0;
let wider = 0;
for (const [a, b, c] of publicSlash24s(n)) {
  const q = buildQuery({ name, type: 'A', ecs: `${a}.${b}.${c}.0/24`, id: 1 });
  const r = decodeReply(listener.answer(q)!);
  const scope = r.ecs!.scope;
  const { depth } = db.db.lookupRecord(db.root, Uint8Array.of(a, b, c, 0), 32);
  scopes.set(scope, (scopes.get(scope) ?? 0) + 1);
  dbLens.set(depth, (dbLens.get(depth) ?? 0) + 1);
  const addr = ((a << 24) | (b << 16) | (c << 8)) >>> 0;
  const mask = (s: number) => (s === 0 ? 0 : (addr & (~0 << (32 - s))) >>> 0);
  entries.add(`${mask(scope)}/${scope}`);
  networks.add(`${mask(depth)}/${depth}`);
  sumScope += scope;
  sumDb += depth;
  if (scope < depth) wider++;
}
const pct = (x: number) => `${((100 * x) / n).toFixed(1)}%`;
console.log(`${n} random public IPv4 /24s, ${name} A with ECS /24, ${path.basename(file)}`);
console.log(`mean returned scope /${(sumScope / n).toFixed(2)}; mean database network /${(sumDb / n).toFixed(2)}`);
console.log(
  `scope wider than the database network for ${pct(wider)} of the /24s (never narrower unless a rule splits)`,
);
console.log(
  `distinct cache entries resolvers would hold: ${entries.size} (one per /24 without scopes: ${n}; per database network: ${networks.size})`,
);
const st = snapshot.policies[0].stats;
console.log(
  `whole IPv4 space: ${st.leaves4} merged scopes (trie leaves) from ${st.networks4} database networks; ` +
    `mean returned scope is ${(sumDb / n - sumScope / n).toFixed(2)} bits wider than the database network, ` +
    `i.e. one cached answer covers ${(2 ** (sumDb / n - sumScope / n)).toFixed(1)}x the addresses on average`,
);
console.log('prefix length | returned scope | database network');
const keys = [...new Set([...scopes.keys(), ...dbLens.keys()])].sort((x, y) => x - y);
for (const k of keys)
  console.log(
    `/${String(k).padEnd(12)} | ${pct(scopes.get(k) ?? 0).padStart(14)} | ${pct(dbLens.get(k) ?? 0).padStart(16)}`,
  );
