/**
 * What a server must answer for a geo record under one health state,
 * computed in the test's own thread from the compiled snapshot and the
 * health flags: the answer's addresses (answer-key.ts currentAnswer, the
 * query path's rule), the scope of the current answer (the tries
 * buildCurrentScopes merges here, not the server's) and the full-ranking
 * scope (the compiled trie). The end-to-end tests compare a running server,
 * single-process or cluster, with it; soundness of the scopes themselves is
 * checked by re-querying inside them and by the property tests.
 */
import type { Snapshot } from '../../src/build/snapshot.js';
import { answerCount, currentAnswer } from '../../src/policy/answer-key.js';
import { buildCurrentScopes, familyMask } from '../../src/policy/current-scopes.js';
import { type FamilyTrie, indexTrie, lookup } from '../../src/policy/trie.js';

export interface Expected {
  answer: string[];
  /** Trie depths: add the scope base (0 for a native-family ECS option) for the SCOPE PREFIX-LENGTH. */
  current: number;
  full: number;
}

/** An ECS subnet's expected answer for `record` (its owner name) when the PoPs flagged 1 in `serving` serve. */
export function scopeOracle(
  snapshot: Snapshot,
  record: string,
  serving: Uint8Array,
): (family: 4 | 6, bytes: Uint8Array, source: number) => Expected {
  const r = snapshot.geoRecords.findIndex((g) => g.name === record);
  if (r < 0) throw new Error(`no geo record ${record}`);
  const g = snapshot.geoRecords[r];
  const policy = snapshot.policies[snapshot.policyNames.indexOf(g.policy)];
  const merged = buildCurrentScopes(snapshot, { epoch: -1, serving }).records[r];
  const compiled = { 4: indexTrie(policy.v4), 6: indexTrie(policy.v6) };
  const out = new Int16Array(8);
  return (family, bytes, source) => {
    const type = family === 4 ? 'A' : 'AAAA';
    const tries = merged[family === 4 ? 0 : 1];
    if (!tries) throw new Error(`${record} does not answer ${type}`);
    const walk = (t: FamilyTrie) => lookup(t, bytes, 0, Math.ceil(source / 8));
    const full = walk(compiled[family]);
    const current = walk(family === 4 ? tries.v4 : tries.v6);
    const packed = currentAnswer(
      policy,
      full >>> 8,
      { serving, hasFamily: familyMask(snapshot, type), maxAnswers: g.maxAnswers },
      out,
    );
    const answer = [...out.subarray(0, answerCount(packed))].flatMap((p) =>
      family === 4 ? snapshot.pops[p].ipv4 : snapshot.pops[p].ipv6,
    );
    return { answer, current: current & 0xff, full: full & 0xff };
  };
}
