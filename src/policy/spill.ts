/**
 * Deterministic spill: which clients of an over-full PoP move to their next
 * candidate. The choice hashes the client network at a fixed granularity
 * (plus the PoP id) with a fixed function, so it is the same across runs,
 * reloads and instances, and every address of a block lands the same way,
 * which keeps ECS scopes sound. Pure.
 */

/** 32-bit FNV-1a over the prefix bits and the PoP id, finished with murmur3's fmix32 for uniform low bits. */
export function spillHash(family: 4 | 6, bytes: Uint8Array, prefixLength: number, popId: string): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ family, 0x01000193);
  h = Math.imul(h ^ prefixLength, 0x01000193);
  const full = prefixLength >> 3;
  for (let i = 0; i < full; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  const rem = prefixLength & 7;
  if (rem) h = Math.imul(h ^ (bytes[full] & (0xff << (8 - rem)) & 0xff), 0x01000193);
  for (let i = 0; i < popId.length; i++) h = Math.imul(h ^ popId.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** True if the block spills: its hash falls in the first `percent` of 10 000 buckets. */
export function spills(
  family: 4 | 6,
  bytes: Uint8Array,
  prefixLength: number,
  popId: string,
  percent: number,
): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return spillHash(family, bytes, prefixLength, popId) % 10000 < Math.round(percent * 100);
}

/** The ranking after a spill: the first PoP moves to second place. */
export function spilledRanking(pops: readonly number[]): number[] {
  if (pops.length < 2) return [...pops];
  return [pops[1], pops[0], ...pops.slice(2)];
}
