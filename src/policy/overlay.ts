/**
 * Operator prefixes laid over the geo database: CIDR rules and measured-RTT
 * rows by CIDR. A binary trie per family; the compiler walks it in step with
 * the database tree so that a prefix splits the compiled trie exactly where it
 * applies and nowhere else. Pure.
 */
import type { Prefix } from '../net/ip.js';

export type OverlayEntry =
  | { kind: 'cidr'; step: number; pops: number[] }
  | { kind: 'rtt'; pop: number; rttMs: number; prefix: string };

/** Everything the prefixes on one path say, most specific first. */
export interface OverlayContext {
  /** Per cidr step index: the most specific matching rule's PoP list and its prefix. */
  cidr: Map<number, { pops: number[]; prefix: string }>;
  /** Per PoP index: the most specific measured RTT row. */
  rtt: Map<number, { rttMs: number; prefix: string }>;
}

export const EMPTY_CONTEXT: OverlayContext = { cidr: new Map(), rtt: new Map() };

export class PrefixOverlay {
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly parent: number[] = [];
  private readonly entries: (Array<{ entry: OverlayEntry; prefix: string }> | null)[] = [];
  private readonly contexts = new Map<number, OverlayContext>();
  /** Root node per family. */
  readonly root4: number;
  readonly root6: number;
  size = 0;

  constructor() {
    this.root4 = this.newNode(-1);
    this.root6 = this.newNode(-1);
  }

  private newNode(parent: number): number {
    this.left.push(-1);
    this.right.push(-1);
    this.parent.push(parent);
    this.entries.push(null);
    return this.left.length - 1;
  }

  insert(prefix: Prefix, text: string, entry: OverlayEntry): void {
    let node = prefix.family === 4 ? this.root4 : this.root6;
    for (let i = 0; i < prefix.length; i++) {
      const bit = (prefix.bytes[i >> 3] >> (7 - (i & 7))) & 1;
      const arr = bit === 0 ? this.left : this.right;
      if (arr[node] < 0) arr[node] = this.newNode(node);
      node = arr[node];
    }
    (this.entries[node] ??= []).push({ entry, prefix: text });
    this.size++;
    this.contexts.clear();
  }

  /** Child of `node` on `bit`, or -1. Accepts -1 (below the overlay) and returns -1. */
  child(node: number, bit: number): number {
    if (node < 0) return -1;
    return bit === 0 ? this.left[node] : this.right[node];
  }

  /** True if prefixes continue below `node` (the compiler must keep splitting). */
  hasChildren(node: number): boolean {
    return node >= 0 && (this.left[node] >= 0 || this.right[node] >= 0);
  }

  /** True if prefixes end exactly at `node`. */
  isMarked(node: number): boolean {
    return node >= 0 && this.entries[node] !== null;
  }

  /** Merged context of every prefix on the path to `node` (a marked node), cached. */
  contextOf(node: number): OverlayContext {
    if (node < 0) return EMPTY_CONTEXT;
    const cached = this.contexts.get(node);
    if (cached) return cached;
    let up = this.parent[node];
    while (up >= 0 && this.entries[up] === null) up = this.parent[up];
    const base = this.contextOf(up);
    const ctx: OverlayContext = { cidr: new Map(base.cidr), rtt: new Map(base.rtt) };
    for (const { entry, prefix } of this.entries[node] ?? []) {
      if (entry.kind === 'cidr') ctx.cidr.set(entry.step, { pops: entry.pops, prefix });
      else ctx.rtt.set(entry.pop, { rttMs: entry.rttMs, prefix });
    }
    this.contexts.set(node, ctx);
    return ctx;
  }

  /** Depth at which the compiler stops splitting for this address because of the overlay (for explain). */
  splitDepth(family: 4 | 6, bytes: Uint8Array): number {
    let node = family === 4 ? this.root4 : this.root6;
    let depth = 0;
    while (this.hasChildren(node)) {
      node = this.child(node, (bytes[depth >> 3] >> (7 - (depth & 7))) & 1);
      depth++;
    }
    return depth;
  }

  /** The deepest marked node on the path of an address (for explain), or -1. */
  markFor(family: 4 | 6, bytes: Uint8Array): number {
    let node = family === 4 ? this.root4 : this.root6;
    let mark = -1;
    const bits = family === 4 ? 32 : 128;
    for (let i = 0; node >= 0; i++) {
      if (this.entries[node] !== null) mark = node;
      if (i === bits) break;
      node = this.child(node, (bytes[i >> 3] >> (7 - (i & 7))) & 1);
    }
    return mark;
  }
}
