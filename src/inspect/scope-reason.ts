/**
 * Explain's two ECS scopes (issue 15): the scope of the answer a client gets
 * now (the widest prefix around it in which every address gets that same
 * answer under the current health) and the scope of its full failover
 * ranking (the leaf of the compiled trie), with the network that shows why
 * they differ. Computed from the compiled trie and the answers alone, apart
 * from the merge (policy/answer-merge.ts), so explain also checks the scope
 * the server returns.
 */
import type { FamilyTrie } from '../policy/trie.js';

export interface ScopeNeighbour {
  /** Depth of the network (trie leaf) and its address bits. */
  depth: number;
  bytes: Uint8Array;
  decision: number;
}

export interface ScopeExplanation {
  /** Trie depth of the current answer's scope and of the full ranking's. */
  currentDepth: number;
  fullDepth: number;
  /** The client's decision (its full ranking). */
  decision: number;
  /**
   * When current < full: a network next to the client's full-ranking scope,
   * inside the current one, ranked otherwise yet answered the same now.
   * Otherwise: the network next to the current scope that is answered
   * otherwise (why the scope is no wider). Null for a scope of /0.
   */
  neighbour: ScopeNeighbour | null;
}

/**
 * The two scopes of the client `bytes` (4 or 16 of them, of which the first
 * `len` count; later bytes read as zero, as the query path reads a truncated
 * ECS address) in the compiled trie, `answerOf(decision)` naming a
 * decision's answer now.
 */
export function explainScopes(
  trie: FamilyTrie,
  bytes: Uint8Array,
  len: number,
  answerOf: (decision: number) => string,
): ScopeExplanation {
  const bit = (d: number) => (d >> 3 < len ? (bytes[d >> 3] >> (7 - (d & 7))) & 1 : 0);
  const path: number[] = [];
  let ref = trie.root;
  while (ref >= 0) {
    path.push(ref);
    ref = trie.nodes[ref * 2 + bit(path.length - 1)];
  }
  const fullDepth = path.length;
  const decision = ~ref;
  const answer = answerOf(decision);
  const memo = new Map<number, string>();
  const answerIs = (d: number) => {
    let a = memo.get(d);
    if (a === undefined) memo.set(d, (a = answerOf(d)));
    return a === answer;
  };
  /** The first leaf under `r` (depth `depth`, bits so far in `out`) for which `want(decision)` holds. */
  const find = (r: number, depth: number, out: Uint8Array, want: (d: number) => boolean): ScopeNeighbour | null => {
    if (r < 0) return want(~r) ? { depth, bytes: Uint8Array.from(out), decision: ~r } : null;
    for (let b = 0; b < 2; b++) {
      if (b === 1) out[depth >> 3] |= 0x80 >> (depth & 7);
      const hit = find(trie.nodes[r * 2 + b], depth + 1, out, want);
      if (b === 1) out[depth >> 3] &= ~(0x80 >> (depth & 7));
      if (hit) return hit;
    }
    return null;
  };
  /** The client's first `depth` bits, then the other branch at `depth`. */
  const sideOf = (depth: number): Uint8Array => {
    const out = new Uint8Array(bytes.length);
    for (let d = 0; d < depth; d++) if (bit(d)) out[d >> 3] |= 0x80 >> (d & 7);
    if (bit(depth) === 0) out[depth >> 3] |= 0x80 >> (depth & 7);
    return out;
  };
  // Widen one bit at a time while the other half answers the same (their subtrees are disjoint: linear in the scope).
  let currentDepth = fullDepth;
  let blocker: ScopeNeighbour | null = null;
  while (currentDepth > 0) {
    const d = currentDepth - 1;
    const other = trie.nodes[path[d] * 2 + (1 - bit(d))];
    blocker = find(other, d + 1, sideOf(d), (x) => !answerIs(x));
    if (blocker) break;
    currentDepth = d;
  }
  if (currentDepth < fullDepth) {
    const d = fullDepth - 1;
    const other = trie.nodes[path[d] * 2 + (1 - bit(d))];
    const ranked = find(other, d + 1, sideOf(d), (x) => x !== decision) ?? find(other, d + 1, sideOf(d), () => true);
    return { currentDepth, fullDepth, decision, neighbour: ranked };
  }
  return { currentDepth, fullDepth, decision, neighbour: blocker };
}
