/**
 * Merge a compiled decision trie by answer class: every subtree whose
 * decisions all fall in one class (answer-key.ts) becomes one leaf holding
 * the class representative. The result has the node format of trie.ts, so
 * `lookup` walks it unchanged and its leaf depth is the ECS scope of the
 * answer a client gets now: the widest prefix around the client in which
 * every address gets that same answer (RFC 7871 7.2.1 asks for no more).
 *
 * Sound: a leaf is only made of a subtree with a single class. Maximal: the
 * parent of every leaf holds two classes, so one bit wider would include an
 * address answered differently. Both hold over the whole trie as given, so
 * the IPv4 trie grafted at ::ffff:0:0/96 inside the IPv6 trie is merged like
 * any other subtree and stays consistent with the merged IPv4 trie (same
 * nodes, same classes); spill needs no case of its own either: the compiler
 * already wrote each spill block's outcome into its decision, so blocks merge
 * only where their answers are equal.
 *
 * Two linear passes over the node array, which TrieBuilder lays out in
 * post-order (children before parents): the first finds each node's class
 * (or "mixed") and counts the mixed nodes, the second writes the mixed nodes,
 * in the same relative order, into an array of exactly that size. Memory: one
 * reusable Int32Array per node as scratch, plus the result.
 */
import type { AnswerClasses } from './answer-key.js';
import type { FamilyTrie } from './trie.js';

export interface MergedTrie {
  trie: FamilyTrie;
  /** Leaves of the merged trie: the distinct scopes that cover the family's address space. */
  leaves: number;
}

/** Holds the scratch array between merges (one per thread doing merges). */
export class AnswerMerger {
  private scratch = new Int32Array(0);

  merge(trie: FamilyTrie, classes: AnswerClasses): MergedTrie {
    const { classOf, representative } = classes;
    const nodes = trie.nodes;
    const count = nodes.length >> 1;
    if (this.scratch.length < count) this.scratch = new Int32Array(count);
    // state[i] >= 0: node i's subtree is all that class. -1: mixed (pass 1); ~new index (pass 2).
    const state = this.scratch;
    let mixed = 0;
    for (let i = 0; i < count; i++) {
      const l = nodes[i << 1];
      const r = nodes[(i << 1) | 1];
      if (l >= i || r >= i) throw new Error(`trie node ${i} is not in post-order (children ${l}, ${r})`);
      const cl = l < 0 ? classOf[~l] : state[l];
      const cr = r < 0 ? classOf[~r] : state[r];
      if (cl === cr && cl >= 0) state[i] = cl;
      else {
        state[i] = -1;
        mixed++;
      }
    }
    const out = new Int32Array(mixed * 2);
    let next = 0;
    let leaves = 0;
    for (let i = 0; i < count; i++) {
      if (state[i] >= 0) continue; // inside a merged leaf (or above none: unreachable)
      const l = refOf(nodes[i << 1], state, classOf, representative);
      const r = refOf(nodes[(i << 1) | 1], state, classOf, representative);
      out[next << 1] = l;
      out[(next << 1) | 1] = r;
      if (l < 0) leaves++;
      if (r < 0) leaves++;
      state[i] = ~next++;
    }
    const root = refOf(trie.root, state, classOf, representative);
    return { trie: { nodes: out, root }, leaves: root < 0 ? 1 : leaves };
  }
}

/** The merged trie's slot for old ref `ref` (children are always written before their parent). */
function refOf(ref: number, state: Int32Array, classOf: Int32Array, representative: Int32Array): number {
  if (ref < 0) return ~representative[classOf[~ref]];
  const s = state[ref];
  return s >= 0 ? ~representative[s] : ~s;
}

/** Leaf slots of a trie (1 when the root is a leaf). */
export function countLeaves(trie: FamilyTrie): number {
  if (trie.root < 0) return 1;
  let leaves = 0;
  for (let i = 0; i < trie.nodes.length; i++) if (trie.nodes[i] < 0) leaves++;
  return leaves;
}
