/**
 * The scopes of the answers clients get now: for every geo record and answer
 * type of a snapshot, the compiled tries merged by answer class under one
 * health view (answer-key.ts, answer-merge.ts). Run off the query path when
 * health changes; the compiled tries are never rebuilt, only read.
 *
 * The work is cut in two so that a caller can do the cheap half at once and
 * the expensive half elsewhere (plane/scope-keeper.ts runs the merges in a
 * worker thread):
 *
 *  - groupingsOf() classifies each (record, answer type): which decisions
 *    answer alike under the view. Linear in the decisions (tens to a few
 *    thousand), fast enough for the moment health changes.
 *  - mergeGrouping() merges one policy's tries for one grouping: linear in
 *    the trie nodes (about 110-140 ms of CPU on the full DB-IP tries).
 *
 * Work is shared wherever the result is provably the same: the merged tries
 * depend only on the compiled policy and the partition of its decisions, so
 * records with the same policy, A next to AAAA, and an earlier health state
 * with the same partition (a flap of a PoP that is no decision's current
 * answer) all share one merge, recognised by the grouping's key.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { HealthView } from '../health/view.js';
import { type AnswerClasses, classifyDecisions } from './answer-key.js';
import { AnswerMerger, countLeaves, type MergedTrie } from './answer-merge.js';
import type { CompiledPolicy } from './compile.js';
import { type FamilyTrie, indexedTrie, jumpTable } from './trie.js';

/** How a geo record's ECS scopes are drawn (config `scopes:`): the answer given now, or the whole ranking. */
export type ScopeBasis = 'current' | 'full_ranking';

/**
 * What the merge reads of a snapshot (a build/snapshot.ts Snapshot is one): the PoPs' addresses, the
 * compiled policies by name, and each geo record's policy, max_answers, answer types and scope basis.
 */
export interface ScopeInputs {
  pops: readonly { ipv4: readonly string[]; ipv6: readonly string[] }[];
  policyNames: readonly string[];
  policies: readonly CompiledPolicy[];
  geoRecords: readonly { policy: string; maxAnswers: number; types: readonly string[]; scopes?: ScopeBasis }[];
}

/** One (record, answer type)'s partition of its policy's decisions under a health view. */
export interface Grouping {
  /** Index of the policy in ScopeInputs.policies. */
  policy: number;
  classes: AnswerClasses;
  /** The policy's identity and the partition: equal keys, equal merged tries. */
  key: string;
}

/** A policy's tries merged for one grouping, ready for the query path (jump tables included). */
export interface MergedScopes {
  /** Grouping.key of the grouping they were merged for. */
  key: string;
  /** The compiled policy's identity: only a runtime whose policy has it may walk these tries. */
  policyKey: string;
  v4: FamilyTrie;
  v6: FamilyTrie;
  /** Distinct scopes covering IPv4 / IPv6 (the IPv6 figure includes the IPv4 graft at ::ffff:0:0/96). */
  leaves4: number;
  leaves6: number;
}

/**
 * The scopes of one health view. entries[2r + t] for geo record r (snapshot
 * order) and answer type t (0 = A, 1 = AAAA): the merged tries, or null where
 * the compiled (full-ranking) trie is served: a type the record does not
 * serve, a record configured `scopes: full_ranking`, a merge not done yet, or
 * every decision answering differently (the compiled trie is then already
 * merged by answer).
 */
export interface ScopeSet {
  /** The HealthView epoch the entries were computed for: serve them only with that view. */
  epoch: number;
  entries: ReadonlyArray<MergedScopes | null>;
}

/** Per PoP, 1 when it has an address of the family: A answers skip PoPs without IPv4, AAAA without IPv6. */
export function familyMask(snapshot: Pick<ScopeInputs, 'pops'>, qtype: 'A' | 'AAAA'): Uint8Array {
  return Uint8Array.from(snapshot.pops, (p) =>
    (qtype === 'A' ? p.ipv4.some((a) => isIPv4(a)) : p.ipv6.length > 0) ? 1 : 0,
  );
}

/** Identities of compiled policies that have no key (built by hand in tests): one per object. */
const anonymous = new WeakMap<CompiledPolicy, string>();

/** A compiled policy's identity: its input key (equal keys, equal tries), else one of its own. */
export function policyIdentity(policy: CompiledPolicy): string {
  if (policy.key !== undefined) return policy.key;
  let id = anonymous.get(policy);
  if (id === undefined) anonymous.set(policy, (id = `anonymous:${policy.name}:${Math.random().toString(36).slice(2)}`));
  return id;
}

/** The answer types of a record slot pair, in entry order. */
const TYPES = ['A', 'AAAA'] as const;

/**
 * Classify every (record, answer type) under `view`: entries[2r + t] is the
 * grouping to merge by, or null when the compiled trie is served (see ScopeSet).
 */
export function groupingsOf(snapshot: ScopeInputs, view: HealthView): Array<Grouping | null> {
  const masks = { A: familyMask(snapshot, 'A'), AAAA: familyMask(snapshot, 'AAAA') };
  const policyIndex = new Map(snapshot.policyNames.map((n, i) => [n, i]));
  const memo = new Map<string, Grouping | null>();
  return snapshot.geoRecords.flatMap((g) =>
    TYPES.map((qtype) => {
      if (!g.types.includes(qtype) || g.scopes === 'full_ranking') return null;
      const index = policyIndex.get(g.policy)!;
      const memoKey = `${index}|${g.maxAnswers}|${qtype}`;
      if (memo.has(memoKey)) return memo.get(memoKey)!;
      const policy = snapshot.policies[index];
      const classes = classifyDecisions(
        policy,
        { serving: view.serving, hasFamily: masks[qtype], maxAnswers: g.maxAnswers },
        snapshot.pops.length,
      );
      // Every decision its own class (e.g. max_answers >= K, all up): the compiled trie, merged by decision, is already it.
      const grouping =
        classes.count === policy.decisionCount
          ? null
          : { policy: index, classes, key: `${policyIdentity(policy)}|${partitionHash(classes)}` };
      memo.set(memoKey, grouping);
      return grouping;
    }),
  );
}

/** A short fingerprint of a partition (its classOf array; the representatives follow from it). */
function partitionHash(classes: AnswerClasses): string {
  const c = classes.classOf;
  return createHash('sha256')
    .update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength))
    .digest('base64url');
}

/**
 * Merge `policy`'s tries for `grouping` and index them for the query path.
 * Pure apart from the merger's scratch; runs in a worker thread in a server.
 */
export function mergeGrouping(
  policy: Pick<CompiledPolicy, 'v4' | 'v6'>,
  policyKey: string,
  grouping: Pick<Grouping, 'classes' | 'key'>,
  merger: AnswerMerger = new AnswerMerger(),
): MergedScopes {
  const indexed = (m: MergedTrie): FamilyTrie => {
    const { jump, jumpDepth } = jumpTable(m.trie);
    return indexedTrie(m.trie.nodes, m.trie.root, jump, jumpDepth);
  };
  const v4 = merger.merge(policy.v4, grouping.classes);
  const v6 = merger.merge(policy.v6, grouping.classes);
  return {
    key: grouping.key,
    policyKey,
    v4: indexed(v4),
    v6: indexed(v6),
    leaves4: v4.leaves,
    leaves6: v6.leaves,
  };
}

/**
 * Merged tries that came from another thread or process, rebuilt with the
 * object shape of the tries a runtime indexes itself (trie.ts indexedTrie):
 * the query path's lookup stays monomorphic whichever trie it walks.
 */
export function reshapeMerged(m: MergedScopes): MergedScopes {
  const shape = (t: FamilyTrie) => indexedTrie(t.nodes, t.root, t.jump!, t.jumpDepth!);
  return {
    key: m.key,
    policyKey: m.policyKey,
    v4: shape(m.v4),
    v6: shape(m.v6),
    leaves4: m.leaves4,
    leaves6: m.leaves6,
  };
}

/** Bytes of merged tries held by `m` (node arrays and jump tables). */
export function mergedBytes(m: MergedScopes): number {
  let n = 0;
  for (const t of [m.v4, m.v6]) n += t.nodes.byteLength + (t.jump?.byteLength ?? 0) + (t.jumpDepth?.byteLength ?? 0);
  return n;
}

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

/** Scopes of every geo record under one view, computed in this thread (benchmarks, tests, the command line). */
export interface CurrentScopes {
  /** The HealthView epoch these scopes belong to: serve them only with that view. */
  epoch: number;
  /** Per geo record (snapshot order): [A, AAAA], null for a type the record does not serve. */
  records: Array<[CurrentTries | null, CurrentTries | null]>;
  /** The same as a ScopeSet (what a runtime installs). */
  set: ScopeSet;
  stats: {
    ms: number;
    /** Merges run, and (record, type) pairs served by a merge shared or kept from `previous`. */
    merged: number;
    shared: number;
    reused: number;
  };
}

/**
 * Merge every geo record's tries for `view`, here and now. `previous` (an
 * earlier result for this or an older snapshot) lends merged tries whose
 * grouping key is the same.
 */
export function buildCurrentScopes(
  snapshot: ScopeInputs,
  view: HealthView,
  previous: CurrentScopes | null = null,
  merger: AnswerMerger = new AnswerMerger(),
): CurrentScopes {
  const t0 = performance.now();
  const kept = new Map((previous?.set.entries ?? []).filter((e) => e !== null).map((e) => [e!.key, e!]));
  const done = new Map<string, MergedScopes>();
  const stats = { ms: 0, merged: 0, shared: 0, reused: 0 };
  const groupings = groupingsOf(snapshot, view);
  const entries = groupings.map((g) => {
    if (g === null) return null;
    let m = done.get(g.key);
    if (m) stats.shared++;
    else {
      m = kept.get(g.key);
      if (m) stats.reused++;
      else {
        const policy = snapshot.policies[g.policy];
        m = mergeGrouping(policy, policyIdentity(policy), g, merger);
        stats.merged++;
      }
      done.set(g.key, m);
    }
    return m;
  });
  const policyOf = new Map(snapshot.policyNames.map((n, i) => [n, snapshot.policies[i]]));
  // A full-ranking record, or one whose decisions all answer differently, is served by the compiled trie.
  const records = snapshot.geoRecords.map((g, r): [CurrentTries | null, CurrentTries | null] => {
    const policy = policyOf.get(g.policy)!;
    const pair = TYPES.map((qtype, t): CurrentTries | null => {
      if (!g.types.includes(qtype)) return null;
      const e = entries[2 * r + t];
      const grouping = groupings[2 * r + t];
      const classes =
        grouping?.classes ??
        classifyDecisions(
          policy,
          { serving: view.serving, hasFamily: familyMask(snapshot, qtype), maxAnswers: g.maxAnswers },
          snapshot.pops.length,
        );
      return e
        ? { policy, maxAnswers: g.maxAnswers, classes, v4: e.v4, v6: e.v6, leaves4: e.leaves4, leaves6: e.leaves6 }
        : {
            policy,
            maxAnswers: g.maxAnswers,
            classes,
            v4: policy.v4,
            v6: policy.v6,
            leaves4: countLeaves(policy.v4),
            leaves6: countLeaves(policy.v6),
          };
    });
    return [pair[0], pair[1]];
  });
  stats.ms = performance.now() - t0;
  return { epoch: view.epoch, records, set: { epoch: view.epoch, entries }, stats };
}
