/**
 * Exhaustive check of a trie merged by current answer against the compiled
 * trie it came from, over the whole address space of one family (used by the
 * property tests on the fixture databases and by bench/current-scopes.ts on
 * the full DB-IP tries). It shares no code with src/policy/answer-*.ts: the
 * answer of a decision comes from the caller (GeoAnswers.choose(), the query
 * path's own function, or the test's reference), and the walk is its own.
 *
 *  - soundness: every compiled leaf inside a merged leaf's prefix (and the
 *    compiled leaf around it, when the compiled trie ends higher up) has the
 *    merged leaf's answer, so every address inside a returned scope gets the
 *    same answer;
 *  - maximality: no merged inner node has the same answer in all of its
 *    leaves, so one bit wider than any returned scope includes an address
 *    with another answer (given soundness, a merged leaf's answer is the
 *    answer of every address in it).
 */
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { GeoAnswers, type GeoRecordRuntime } from '../../src/policy/geo-answer.js';
import type { FamilyTrie } from '../../src/policy/trie.js';
import type { GeoSlot } from '../../src/zone/answers.js';

export interface ScopeViolation {
  kind: 'unsound' | 'not-maximal';
  /** The merged prefix concerned, e.g. 10.0.0.0/8 or 2001:db8::/32. */
  prefix: string;
  detail: string;
}

export interface ScopeCheck {
  mergedLeaves: number;
  compiledLeaves: number;
  violations: ScopeViolation[];
}

function formatPath(path: Uint8Array, depth: number, family: 4 | 6): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < depth; i++) if (path[i]) bytes[i >> 3] |= 0x80 >> (i & 7);
  if (family === 4) return `${bytes.join('.')}/${depth}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return `${groups.join(':')}/${depth}`;
}

/** Check `merged` against `compiled` (see the module comment); `answerOf(decision)` names a decision's current answer. */
export function checkMergedTrie(
  compiled: FamilyTrie,
  merged: FamilyTrie,
  family: 4 | 6,
  answerOf: (decision: number) => string,
  limit = 10,
): ScopeCheck {
  const out: ScopeCheck = { mergedLeaves: 0, compiledLeaves: 0, violations: [] };
  const path = new Uint8Array(129);
  const answers = new Map<number, string>();
  const answer = (d: number) => {
    let a = answers.get(d);
    if (a === undefined) answers.set(d, (a = answerOf(d)));
    return a;
  };
  const report = (kind: ScopeViolation['kind'], depth: number, detail: string) => {
    if (out.violations.length < limit) out.violations.push({ kind, prefix: formatPath(path, depth, family), detail });
  };

  /** Every compiled leaf under `ref` (at `depth`) answers `expected`. */
  const soundUnder = (ref: number, depth: number, expected: string, mergedDepth: number): void => {
    if (ref < 0) {
      out.compiledLeaves++;
      const got = answer(~ref);
      if (got !== expected)
        report(
          'unsound',
          mergedDepth,
          `merged leaf answers ${expected}, but ${formatPath(path, depth, family)} inside it answers ${got}`,
        );
      return;
    }
    for (let bit = 0; bit < 2; bit++) {
      path[depth] = bit;
      soundUnder(compiled.nodes[ref * 2 + bit], depth + 1, expected, mergedDepth);
    }
    path[depth] = 0;
  };

  /**
   * Walk merged node `m` and compiled node `c` (both at `depth`) together.
   * Returns the answer of the merged subtree when it is one answer, else null.
   */
  const walk = (m: number, c: number, depth: number): string | null => {
    if (m < 0) {
      out.mergedLeaves++;
      const expected = answer(~m);
      if (c < 0) {
        // The compiled trie ended at or above this depth: its one leaf covers the merged leaf.
        out.compiledLeaves++;
        const got = answer(~c);
        if (got !== expected)
          report('unsound', depth, `merged leaf answers ${expected}, the compiled leaf around it ${got}`);
      } else soundUnder(c, depth, expected, depth);
      return expected;
    }
    const seen: Array<string | null> = [];
    for (let bit = 0; bit < 2; bit++) {
      path[depth] = bit;
      seen.push(walk(merged.nodes[m * 2 + bit], c < 0 ? c : compiled.nodes[c * 2 + bit], depth + 1));
    }
    path[depth] = 0;
    if (seen[0] !== null && seen[0] === seen[1]) {
      report('not-maximal', depth, `every address in it answers ${seen[0]}, yet it is split`);
      return seen[0];
    }
    return null;
  };

  walk(merged.root, compiled.root, 0);
  return out;
}

/** Which address families each PoP has (A answers need IPv4, AAAA answers IPv6). */
export interface PopFamilies {
  v4: boolean;
  v6: boolean;
}

/**
 * The query path's own answer for a decision, as text ("0,2 degraded"): what
 * GeoAnswers.choose() picks for one record under `serving`.
 */
export function queryPathAnswer(
  policy: Pick<CompiledPolicy, 'decisions' | 'candidates' | 'decisionCount'>,
  pops: readonly PopFamilies[],
  maxAnswers: number,
  qtype: 'A' | 'AAAA',
  serving: Uint8Array,
): (decision: number) => string {
  const record: GeoRecordRuntime = {
    name: 'cdn',
    policy: policy as CompiledPolicy,
    ttl: 30,
    ttlDegraded: 10,
    maxAnswers,
  };
  const addresses = pops.map((p, i) => ({
    v4: p.v4 ? [Uint8Array.of(192, 0, 2, i)] : [],
    v6: p.v6 ? [new Uint8Array(16).fill(i)] : [],
  }));
  const slot: GeoSlot = { id: 0, record: 0, qtype: qtype === 'A' ? 1 : 28, owner: Uint8Array.of(0xc0, 0x0c) };
  const answers = new GeoAnswers([slot], [record], addresses);
  const view = { epoch: 1, serving };
  return (d) => {
    const c = answers.choose(slot, d, view);
    return `${c.pops.join(',')}${c.degraded ? ' degraded' : ''}${c.failOpen ? ' fail-open' : ''}`;
  };
}
