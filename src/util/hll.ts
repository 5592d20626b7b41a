/**
 * HyperLogLog sketches of the ECS scope prefixes answered per geo record
 * (cache-fragmentation bookkeeping, meridian_scope_prefixes_estimate): the
 * query path adds a hash per ECS answer, the collector merges sketches of
 * several processes by register maximum and estimates. Plain typed arrays:
 * a worker ships them to the primary over IPC. Pure.
 */

/** 2^10 registers: about 3 % standard error in 1 KiB per record and window. */
export const HLL_BITS = 10;
const HLL_SIZE = 1 << HLL_BITS;

/** Hash of the first `scope` bits of an address (plus family and scope), as the resolver caches it. */
export function scopeHash(family: number, addr: Uint8Array, off: number, len: number, scope: number): number {
  let h = Math.imul(0x811c9dc5 ^ family, 0x01000193);
  h = Math.imul(h ^ scope, 0x01000193);
  const full = scope >> 3;
  for (let i = 0; i < full; i++) h = Math.imul(h ^ (i < len ? addr[off + i] : 0), 0x01000193);
  const rem = scope & 7;
  if (rem !== 0) h = Math.imul(h ^ ((full < len ? addr[off + full] : 0) & (0xff << (8 - rem)) & 0xff), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Record one hash into a register array (`regs` holds several sketches; `base` picks one). */
export function hllAdd(regs: Uint8Array, base: number, hash: number): void {
  const idx = hash >>> (32 - HLL_BITS);
  const rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1)); // guard bit bounds the rank
  const rank = Math.clz32(rest) + 1;
  if (rank > regs[base + idx]) regs[base + idx] = rank;
}

/** HyperLogLog estimate (with the small-range linear-counting correction) of the union of sketches. */
export function hllEstimate(sketches: readonly Uint8Array[]): number {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < HLL_SIZE; i++) {
    let r = 0;
    for (const s of sketches) if (s[i] > r) r = s[i];
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / HLL_SIZE);
  const raw = (alpha * HLL_SIZE * HLL_SIZE) / sum;
  if (raw <= 2.5 * HLL_SIZE && zeros > 0) return HLL_SIZE * Math.log(HLL_SIZE / zeros);
  return raw;
}

/**
 * Per-geo-record fragmentation sketches over two rotating windows: the
 * estimate is the union of the current and the previous window, so it
 * covers the last one to two windows and never grows with traffic.
 */
export class ScopeSketches {
  /** [record][window][register]. */
  readonly regs: Uint8Array;
  current = 0;

  constructor(readonly recordCount: number) {
    this.regs = new Uint8Array(recordCount * 2 * HLL_SIZE);
  }

  add(record: number, hash: number): void {
    hllAdd(this.regs, (record * 2 + this.current) * HLL_SIZE, hash);
  }

  /** Start a new window: the older one is cleared and becomes current. */
  rotate(): void {
    this.current ^= 1;
    for (let r = 0; r < this.recordCount; r++)
      this.regs.fill(0, (r * 2 + this.current) * HLL_SIZE, (r * 2 + this.current + 1) * HLL_SIZE);
  }

  sketchesOf(record: number): Uint8Array[] {
    return [0, 1].map((w) => this.regs.subarray((record * 2 + w) * HLL_SIZE, (record * 2 + w + 1) * HLL_SIZE));
  }

  estimate(record: number): number {
    return hllEstimate(this.sketchesOf(record));
  }
}
