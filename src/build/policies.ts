/**
 * Policies in the snapshot: the rule tables of every configured policy, the
 * key that says when a compiled trie can be kept across a reload, and the
 * stand-ins a reload worker sends for the tries the caller already has.
 */
import { createHash } from 'node:crypto';
import type { GeoDatabaseInfo, OpenedDatabases } from '../geo/open.js';
import { databaseIdentity } from '../geo/open.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { buildRuleTables, type PopInfo, type RuleTables } from '../policy/rules.js';
import type { Report } from './config/load.js';
import type { MeridianConfig } from './config/schema.js';
import type { Snapshot } from './snapshot.js';

/**
 * Build the rule tables of every policy; problems are reported. Shared by the
 * snapshot builder and explain (which ranks with details from the same tables).
 */
export function buildAllRuleTables(
  config: MeridianConfig,
  pops: readonly PopInfo[],
  report: Report,
): Map<string, RuleTables> {
  const out = new Map<string, RuleTables>();
  for (const [name, policy] of Object.entries(config.policies)) {
    out.set(name, buildRuleTables(name, policy, pops, ['policies', name], report));
  }
  return out;
}

/**
 * What a compiled policy depends on: its rules, the PoPs, the databases (by
 * identity: path, size, mtime, inode) and the latency table's bytes. Equal
 * keys mean an identical trie, so a reload can keep the compiled one.
 */
export function policyKey(
  config: MeridianConfig,
  name: string,
  pops: readonly PopInfo[],
  dbs: OpenedDatabases,
  latencyText: string,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        policy: config.policies[name],
        pops: pops.map((p) => [p.id, p.lat, p.lon, p.weight, p.spill]),
        dbs: dbs.infos.map((d) => [d.file, d.size, d.mtimeMs, d.usedFor]),
        pathInflation: config.geo.path_inflation,
        latencyText,
      }),
    )
    .digest('hex');
}

/** What the change guard's sample depends on: the databases' identities and the sample size. */
export function sampleKey(dbs: readonly GeoDatabaseInfo[], size: number): string {
  return `${dbs.map(databaseIdentity).join('\n')}\n${size}`;
}

/** A stand-in for a policy the caller already has compiled under `key`. */
export function reusedPolicy(name: string, key: string): CompiledPolicy {
  const empty = { nodes: new Int32Array(0), root: -1 };
  return {
    name,
    key,
    reused: true,
    candidates: 0,
    v4: empty,
    v6: empty,
    decisions: new Int16Array(0),
    decisionCount: 0,
    stats: {
      compileMs: 0,
      nodes4: 0,
      nodes6: 0,
      networks4: 0,
      networks6: 0,
      leaves4: 0,
      leaves6: 0,
      decisions: 0,
      ranked: 0,
    },
  };
}

/** Put the caller's compiled policies in place of `reused` stand-ins (by key). */
export function fillReused(s: Snapshot, previous: Snapshot): Snapshot {
  const byKey = new Map(previous.policies.map((p) => [p.key, p]));
  const policies = s.policies.map((p) => {
    if (!p.reused) return p;
    const old = byKey.get(p.key);
    if (!old) throw new Error(`compiled policy ${p.name} vanished before the reload finished`);
    return { ...old, name: p.name };
  });
  // The worker draws no sample when the databases did not change: keep the caller's.
  const n = s.config.reload.change_guard.sample;
  const guardSample =
    s.guardSample ?? (sampleKey(s.databases, n) === sampleKey(previous.databases, n) ? previous.guardSample : null);
  return { ...s, policies, guardSample };
}
