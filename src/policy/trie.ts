/**
 * The compiled decision trie: a binary trie in one Int32Array, two slots per
 * node. A slot >= 0 is a child node index; a slot < 0 is a leaf holding
 * decision id ~slot. The root may itself be a leaf (negative).
 *
 * lookup() is the per-query walk: it reads the address bits straight from the
 * packet (the ECS option) or a scratch buffer, allocates nothing, and returns
 * the decision id and the leaf depth (= ECS SCOPE) packed in one integer.
 */

export interface FamilyTrie {
  nodes: Int32Array;
  root: number;
}

/** Grows a node array; children are pushed before parents (post-order). */
export class TrieBuilder {
  private nodes = new Int32Array(1024);
  private count = 0;
  leaves = 0;

  push(left: number, right: number): number {
    if ((this.count + 1) * 2 > this.nodes.length) {
      const next = new Int32Array(this.nodes.length * 2);
      next.set(this.nodes);
      this.nodes = next;
    }
    const i = this.count++;
    this.nodes[i * 2] = left;
    this.nodes[i * 2 + 1] = right;
    if (left < 0) this.leaves++;
    if (right < 0) this.leaves++;
    return i;
  }

  finish(root: number): FamilyTrie {
    if (root < 0) this.leaves = 1;
    return { nodes: this.nodes.slice(0, this.count * 2), root };
  }
}

/** Bits in the packed result reserved for the depth (0..128). */
export const DEPTH_BITS = 8;

/**
 * Walk `trie` with the address whose first `len` bytes start at `addr[off]`
 * (bytes past `len` read as zero, as in a truncated ECS address).
 * Returns (decisionId << 8) | depth.
 */
export function lookup(trie: FamilyTrie, addr: Uint8Array, off: number, len: number): number {
  const nodes = trie.nodes;
  let ref = trie.root;
  let depth = 0;
  while (ref >= 0) {
    const i = depth >> 3;
    const byte = i < len ? addr[off + i] : 0;
    ref = nodes[(ref << 1) | ((byte >> (7 - (depth & 7))) & 1)];
    depth++;
  }
  return (~ref << DEPTH_BITS) | depth;
}

export function decisionOf(packed: number): number {
  return packed >>> DEPTH_BITS;
}

export function depthOf(packed: number): number {
  return packed & 0xff;
}
