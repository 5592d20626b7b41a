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
  /**
   * Optional index of the first 16 bits (built per process by indexTrie, not
   * shipped in snapshots): the walk's first 16 dependent memory reads become
   * one. jump[p] is the ref reached after the 16 bits of p (or the leaf met
   * earlier), jumpDepth[p] the depth it was reached at.
   */
  jump?: Int32Array;
  jumpDepth?: Uint8Array;
}

const JUMP_BITS = 16;

/** Add the 16-bit jump table to a trie (about 320 KiB). */
export function indexTrie(trie: FamilyTrie): FamilyTrie {
  const { jump, jumpDepth } = jumpTable(trie);
  return indexedTrie(trie.nodes, trie.root, jump, jumpDepth);
}

/**
 * A trie with its jump table, always built by this one function so that every
 * trie the query path walks (compiled, or merged by current answer and posted
 * from another thread) has the same object shape: `lookup` stays monomorphic.
 */
export function indexedTrie(nodes: Int32Array, root: number, jump: Int32Array, jumpDepth: Uint8Array): FamilyTrie {
  return { nodes, root, jump, jumpDepth };
}

/** The 16-bit jump table of a trie (see FamilyTrie.jump). */
export function jumpTable(trie: FamilyTrie): { jump: Int32Array; jumpDepth: Uint8Array } {
  const size = 1 << JUMP_BITS;
  const jump = new Int32Array(size);
  const jumpDepth = new Uint8Array(size);
  for (let p = 0; p < size; p++) {
    let ref = trie.root;
    let depth = 0;
    while (ref >= 0 && depth < JUMP_BITS) {
      ref = trie.nodes[(ref << 1) | ((p >>> (JUMP_BITS - 1 - depth)) & 1)];
      depth++;
    }
    jump[p] = ref;
    jumpDepth[p] = depth;
  }
  return { jump, jumpDepth };
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

  /** Overwrite node `i`'s children (used when grafting a trie). */
  set(i: number, left: number, right: number): void {
    this.nodes[i * 2] = left;
    this.nodes[i * 2 + 1] = right;
  }

  /**
   * The finished trie. Its nodes live in a SharedArrayBuffer: posted to
   * another thread (the compile worker's result to the main thread, the
   * compiled tries to the scope-merge thread) they are shared, not copied.
   * Only reads ever touch them; cluster IPC still sends them as bytes.
   */
  finish(root: number): FamilyTrie {
    if (root < 0) this.leaves = 1;
    const nodes = new Int32Array(new SharedArrayBuffer(this.count * 8));
    nodes.set(this.nodes.subarray(0, this.count * 2));
    return { nodes, root };
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
  let w = 0;
  const jump = trie.jump;
  if (jump !== undefined) {
    const p = ((len > 0 ? addr[off] : 0) << 8) | (len > 1 ? addr[off + 1] : 0);
    ref = jump[p];
    depth = trie.jumpDepth![p];
    if (ref < 0) return (~ref << DEPTH_BITS) | depth;
    w = 2; // continue after the two bytes the table consumed
  }
  // Walk from a word assembled once per 32 bits (bytes past `len` read as zero).
  for (; ref >= 0; w += 4) {
    const base = off + w;
    const word =
      ((w < len ? addr[base] : 0) << 24) |
      ((w + 1 < len ? addr[base + 1] : 0) << 16) |
      ((w + 2 < len ? addr[base + 2] : 0) << 8) |
      (w + 3 < len ? addr[base + 3] : 0);
    for (let b = 31; b >= 0 && ref >= 0; b--) {
      ref = nodes[(ref << 1) | ((word >>> b) & 1)];
      depth++;
    }
  }
  return (~ref << DEPTH_BITS) | depth;
}

export function decisionOf(packed: number): number {
  return packed >>> DEPTH_BITS;
}

export function depthOf(packed: number): number {
  return packed & 0xff;
}
