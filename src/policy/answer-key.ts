/**
 * The answer a client gets now for a compiled decision, and the partition of
 * a policy's decisions into "answer classes" under one health state. Pure.
 *
 * A decision is a ranking of up to K PoPs (compile.ts). What goes on the wire
 * for it depends on the health view, the answer family and the record's
 * max_answers, exactly as GeoAnswers.choose() (geo-answer.ts) decides:
 *
 *   ranking  = the decision's PoPs that have an address of the answer family
 *              (IPv4 for A, IPv6 for AAAA), in order;
 *   serving  = the ranking's PoPs whose serving flag is 1;
 *   fail-open when serving is empty and the ranking is not: the ranking is
 *              served unfiltered (every candidate is out of service);
 *   chosen   = the first max_answers of serving (or of the ranking, fail-open);
 *   degraded = fail-open, or chosen[0] is not ranking[0].
 *
 * The answer key of a decision is (chosen in order, degraded, fail-open).
 * `chosen` gives the records; `degraded` changes the bytes through the
 * degraded TTL (ttl_degraded, 10 s against 30 s by default). It is kept in
 * the key even when a record sets ttl_degraded equal to ttl: the query path
 * counts degraded answers from the leaf's decision, and a leaf whose
 * representative differed in that flag would make the counter lie; with the
 * default TTLs the bytes differ anyway. `fail-open` costs nothing: a
 * fail-open answer names only out-of-service PoPs and any other answer only
 * serving ones, so it never separates two answers with the same PoPs; it is
 * in the key so that the fail-open counter (and its alert) stay exact by
 * construction.
 *
 * Two decisions with the same key give byte-identical answers with the same
 * accounting, so a trie leaf may hold either: answer-merge.ts merges trie
 * siblings by class. Classes are numbered by their first decision (in
 * decision order), so two classifications with equal `classOf` arrays are the
 * same partition with the same representatives, and a merged trie computed
 * for one serves the other.
 */
import type { CompiledPolicy } from './compile.js';

/** Flag bits of a packed answer (see currentAnswer). */
export const DEGRADED = 1;
export const FAIL_OPEN = 2;
const FLAG_BITS = 2;

/** Everything besides the decision that decides an answer. */
export interface AnswerInputs {
  /** Per PoP (snapshot order): 1 = may be served (HealthView.serving). */
  serving: Uint8Array;
  /** Per PoP: 1 = it has an address of the answer family (IPv4 for A, IPv6 for AAAA). */
  hasFamily: Uint8Array;
  /** The geo record's max_answers (1-8). */
  maxAnswers: number;
}

/** The decision table of a compiled policy (what the classification reads). */
export type DecisionTable = Pick<CompiledPolicy, 'decisions' | 'candidates' | 'decisionCount'>;

/**
 * Write the PoPs decision `d` is answered with now into `out` (at least
 * maxAnswers long) and return (count << 2) | flags. Allocates nothing.
 */
export function currentAnswer(table: DecisionTable, d: number, inputs: AnswerInputs, out: Int16Array): number {
  const k = table.candidates;
  const decisions = table.decisions;
  const { serving, hasFamily, maxAnswers } = inputs;
  let first = -1; // ranking[0]
  let n = 0;
  for (let i = d * k, end = i + k; i < end; i++) {
    const pop = decisions[i];
    if (pop < 0) break;
    if (hasFamily[pop] !== 1) continue;
    if (first < 0) first = pop;
    if (serving[pop] === 1 && n < maxAnswers) out[n++] = pop;
  }
  if (n > 0) return (n << FLAG_BITS) | (out[0] !== first ? DEGRADED : 0);
  if (first < 0) return 0; // no PoP has the family: an empty answer (NODATA), never degraded
  // Fail open: every candidate is out of service; answering beats not answering.
  for (let i = d * k, end = i + k; i < end && n < maxAnswers; i++) {
    const pop = decisions[i];
    if (pop < 0) break;
    if (hasFamily[pop] === 1) out[n++] = pop;
  }
  return (n << FLAG_BITS) | DEGRADED | FAIL_OPEN;
}

export function answerCount(packed: number): number {
  return packed >>> FLAG_BITS;
}

export function answerFlags(packed: number): number {
  return packed & ((1 << FLAG_BITS) - 1);
}

/** A policy's decisions partitioned by the answer they give under one set of inputs. */
export interface AnswerClasses {
  /** Class of each decision; classes are numbered in order of their first decision. */
  classOf: Int32Array;
  /** The first decision of each class: a leaf of the class holds it. */
  representative: Int32Array;
  count: number;
}

/** Partition the decisions of `table` by their answer key under `inputs`. */
export function classifyDecisions(table: DecisionTable, inputs: AnswerInputs, popCount: number): AnswerClasses {
  const n = table.decisionCount;
  const classOf = new Int32Array(n);
  const firsts: number[] = [];
  const ids = new Map<number | string, number>();
  const chosen = new Int16Array(Math.max(1, inputs.maxAnswers));
  const radix = popCount + 1;
  for (let d = 0; d < n; d++) {
    const packed = currentAnswer(table, d, inputs, chosen);
    const count = answerCount(packed);
    // A number key while it stays exact (the PoPs in base popCount+1, then the flags), else a string.
    let key: number | string = 0;
    for (let i = 0; i < count; i++) key = key * radix + chosen[i] + 1;
    key = key * 4 + answerFlags(packed);
    if (key > Number.MAX_SAFE_INTEGER) key = `${answerFlags(packed)}|${chosen.subarray(0, count).join(',')}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = firsts.length;
      firsts.push(d);
      ids.set(key, id);
    }
    classOf[d] = id;
  }
  return { classOf, representative: Int32Array.from(firsts), count: firsts.length };
}

/** True when `a` and `b` are the same partition (and so have the same representatives). */
export function samePartition(a: AnswerClasses, b: AnswerClasses): boolean {
  if (a.count !== b.count || a.classOf.length !== b.classOf.length) return false;
  for (let i = 0; i < a.classOf.length; i++) if (a.classOf[i] !== b.classOf[i]) return false;
  return true;
}
