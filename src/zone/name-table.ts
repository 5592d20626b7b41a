/**
 * Names we serve, found straight from the query's wire bytes without
 * building a string: a name's hash is computed label by label from the root
 * (so every suffix of the qname gets its hash in one pass), and candidates are
 * confirmed by a case-insensitive byte compare against the stored lower-case
 * wire name. Open addressing in typed arrays.
 */

export const ROOT_HASH = 0x811c9dc5 | 0;

/** Fold the label whose length byte is at `buf[off]` into a parent name's hash (FNV-1a, ASCII case folded). */
export function hashLabel(h: number, buf: Uint8Array, off: number): number {
  const len = buf[off];
  h = Math.imul(h ^ len, 0x01000193);
  for (let i = off + 1, end = off + 1 + len; i < end; i++) {
    let c = buf[i];
    if (c >= 65 && c <= 90) c |= 0x20;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

/** Hash of a whole lower-case wire name (same value hashLabel reaches for it). */
export function hashWireName(wire: Uint8Array): number {
  const starts: number[] = [];
  for (let off = 0; wire[off] !== 0; off += wire[off] + 1) starts.push(off);
  let h = ROOT_HASH;
  for (let i = starts.length - 1; i >= 0; i--) h = hashLabel(h, wire, starts[i]);
  return h;
}

/** Case-insensitive compare of `len` bytes of `a` at `aOff` with lower-case `b`. */
function equalsFolded(a: Uint8Array, aOff: number, b: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) {
    let c = a[aOff + i];
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== b[i]) return false;
  }
  return true;
}

export class NameTable<T extends { wire: Uint8Array }> {
  private readonly hashes: Int32Array;
  private readonly slots: (T | null)[];
  private readonly mask: number;

  constructor(entries: readonly T[]) {
    let cap = 16;
    while (cap < entries.length * 2) cap <<= 1;
    this.hashes = new Int32Array(cap);
    this.slots = new Array<T | null>(cap).fill(null);
    this.mask = cap - 1;
    for (const e of entries) {
      const h = hashWireName(e.wire);
      let i = h & this.mask;
      while (this.slots[i] !== null) i = (i + 1) & this.mask;
      this.hashes[i] = h;
      this.slots[i] = e;
    }
  }

  /** The entry whose name equals `len` wire bytes of `buf` at `off` (hash `h`), or null. */
  find(h: number, buf: Uint8Array, off: number, len: number): T | null {
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const e = this.slots[i];
      if (e === null) return null;
      if (this.hashes[i] === h && e.wire.length === len && equalsFolded(buf, off, e.wire, len)) return e;
    }
  }
}
