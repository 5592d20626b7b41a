/**
 * Meridian's current-answer scopes against another server's answers, block
 * by block: reads the blocks `bench/ecs-sweep.ts --out FILE` wrote (every
 * scope that server returned over IPv4, with its A answer), merges the
 * config's first geo record for the same health state, and checks, at each
 * block, that Meridian answers the same address and whether its scope is
 * wider, the same or narrower. A second, independent implementation's
 * answers (gdnsd's failover is also "the next serving PoP of the ranking")
 * over the whole IPv4 space.
 *
 *   node --import tsx bench/peer-blocks.ts CONFIG BLOCKS.tsv [--down POP,...]
 */
import { readFileSync } from 'node:fs';
import { buildCurrentScopes } from '../src/policy/current-scopes.js';
import { decisionOf, depthOf, lookup } from '../src/policy/trie.js';
import { Runtime } from '../src/build/runtime.js';
import { buildSnapshotFromFile } from '../src/build/snapshot.js';
import type { GeoSlot } from '../src/zone/answers.js';

const [configFile, blocksFile] = process.argv.slice(2);
if (!configFile || !blocksFile) throw new Error('usage: bench/peer-blocks.ts CONFIG BLOCKS.tsv [--down POP,...]');
const i = process.argv.indexOf('--down');
const down = i > 0 ? process.argv[i + 1].split(',') : [];
const snapshot = buildSnapshotFromFile(configFile);
const rt = new Runtime(snapshot);
const view = { epoch: 1, serving: Uint8Array.from(snapshot.pops, (p) => (down.includes(p.id) ? 0 : 1)) };
const tries = buildCurrentScopes(snapshot, view).records[0][0]!;
const slot: GeoSlot = { id: 0, record: 0, qtype: 1, owner: new Uint8Array(0) };
let blocks = 0;
let mismatched = 0;
let wider = 0;
let narrower = 0;
for (const line of readFileSync(blocksFile, 'utf8').trim().split('\n')) {
  const [prefix, theirs] = line.split('\t');
  const [ip, len] = prefix.split('/');
  const packed = lookup(tries.v4, Uint8Array.from(ip.split('.').map(Number)), 0, 4);
  const chosen = rt.geo.choose(slot, decisionOf(packed), view).pops;
  const ours = chosen.length > 0 ? snapshot.pops[chosen[0]].ipv4[0] : '';
  blocks++;
  if (ours !== theirs && mismatched++ < 10) console.log(`${prefix}: they answer ${theirs}, Meridian ${ours}`);
  if (depthOf(packed) < Number(len)) wider++;
  else if (depthOf(packed) > Number(len)) narrower++;
}
console.log(
  `${blocks} blocks of ${blocksFile}${down.length ? ` (${down.join(', ')} down)` : ''}: ${mismatched} different answers; ` +
    `Meridian's current-answer scope is wider for ${wider}, the same for ${blocks - wider - narrower}, narrower for ${narrower}`,
);
