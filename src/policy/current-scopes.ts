/**
 * The scopes of the answers clients get now: for every geo record and answer
 * type of a snapshot, the compiled tries merged by answer class under one
 * health view (answer-key.ts, answer-merge.ts). Run off the query path when
 * health changes; the compiled tries are never rebuilt, only read.
 *
 * Work is shared wherever the result is provably the same: records with the
 * same policy and max_answers, and A next to AAAA, share tries when their
 * decisions fall into the same partition (the usual case: every PoP has both
 * families); a previous result for the same compiled policy is reused when
 * the new health view leaves the partition unchanged (a flap of a PoP that
 * is no decision's current answer costs a classification, not a merge).
 */
import { isIPv4 } from 'node:net';
import type { HealthView } from '../health/view.js';
import { classifyDecisions, samePartition, type AnswerClasses } from './answer-key.js';
import { AnswerMerger, countLeaves, type MergedTrie } from './answer-merge.js';
import type { CompiledPolicy } from './compile.js';
import type { FamilyTrie } from './trie.js';

/** One policy's tries merged for one answer family and max_answers under one health view. */
export interface CurrentTries {
  policy: CompiledPolicy;
  maxAnswers: number;
  classes: AnswerClasses;
  v4: FamilyTrie;
  v6: FamilyTrie;
  /** Distinct scopes covering IPv4 / IPv6 (the IPv6 figure includes the IPv4 graft at ::ffff:0:0/96). */
  leaves4: number;
  leaves6: number;
}

export interface CurrentScopes {
  /** The HealthView epoch these scopes belong to: serve them only with that view. */
  epoch: number;
  /** Per geo record (snapshot order): [A, AAAA], null for a type the record does not serve. */
  records: Array<[CurrentTries | null, CurrentTries | null]>;
  stats: {
    ms: number;
    /** Tries merged in this run, and (record, type) pairs served by tries shared or kept from `previous`. */
    merged: number;
    shared: number;
    reused: number;
  };
}

/** Per PoP, 1 when it has an address of the family: A answers skip PoPs without IPv4, AAAA without IPv6. */
/**
 * What the merge reads of a snapshot (a build/snapshot.ts Snapshot is one): the PoPs' addresses, the
 * compiled policies by name, and each geo record's policy, max_answers and answer types.
 */
export interface ScopeInputs {
  pops: readonly { ipv4: readonly string[]; ipv6: readonly string[] }[];
  policyNames: readonly string[];
  policies: readonly CompiledPolicy[];
  geoRecords: readonly { policy: string; maxAnswers: number; types: readonly string[] }[];
}

export function familyMask(snapshot: Pick<ScopeInputs, 'pops'>, qtype: 'A' | 'AAAA'): Uint8Array {
  return Uint8Array.from(snapshot.pops, (p) =>
    (qtype === 'A' ? p.ipv4.some((a) => isIPv4(a)) : p.ipv6.length > 0) ? 1 : 0,
  );
}

/**
 * Merge every geo record's tries for `view`. `previous` (an earlier result
 * for this or an older snapshot) lends tries whose compiled policy, max_answers
 * and partition are the same.
 */
export function buildCurrentScopes(
  snapshot: ScopeInputs,
  view: HealthView,
  previous: CurrentScopes | null = null,
  merger: AnswerMerger = new AnswerMerger(),
): CurrentScopes {
  const t0 = performance.now();
  const masks = { A: familyMask(snapshot, 'A'), AAAA: familyMask(snapshot, 'AAAA') };
  const policyOf = new Map(snapshot.policyNames.map((n, i) => [n, snapshot.policies[i]]));
  const earlier = previous ? previous.records.flat().filter((t): t is CurrentTries => t !== null) : [];
  const built: CurrentTries[] = [];
  const stats = { ms: 0, merged: 0, shared: 0, reused: 0 };
  const tries = (policy: CompiledPolicy, maxAnswers: number, qtype: 'A' | 'AAAA'): CurrentTries => {
    const classes = classifyDecisions(
      policy,
      { serving: view.serving, hasFamily: masks[qtype], maxAnswers },
      snapshot.pops.length,
    );
    const fits = (t: CurrentTries) =>
      t.policy === policy && t.maxAnswers === maxAnswers && samePartition(t.classes, classes);
    const same = built.find(fits);
    if (same) {
      stats.shared++;
      return same;
    }
    const kept = earlier.find(fits);
    if (kept) stats.reused++;
    else stats.merged++;
    const merge = (trie: FamilyTrie): MergedTrie =>
      // Every decision its own class (e.g. max_answers >= K, all up): the compiled trie, merged by decision, is already it.
      classes.count === policy.decisionCount ? { trie, leaves: countLeaves(trie) } : merger.merge(trie, classes);
    const v4 = kept ? { trie: kept.v4, leaves: kept.leaves4 } : merge(policy.v4);
    const v6 = kept ? { trie: kept.v6, leaves: kept.leaves6 } : merge(policy.v6);
    const t: CurrentTries = {
      policy,
      maxAnswers,
      classes,
      v4: v4.trie,
      v6: v6.trie,
      leaves4: v4.leaves,
      leaves6: v6.leaves,
    };
    built.push(t);
    return t;
  };
  const records = snapshot.geoRecords.map((g): [CurrentTries | null, CurrentTries | null] => {
    const policy = policyOf.get(g.policy)!;
    return [
      g.types.includes('A') ? tries(policy, g.maxAnswers, 'A') : null,
      g.types.includes('AAAA') ? tries(policy, g.maxAnswers, 'AAAA') : null,
    ];
  });
  stats.ms = performance.now() - t0;
  return { epoch: view.epoch, records, stats };
}
