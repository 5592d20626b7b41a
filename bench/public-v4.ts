/**
 * The client sample the scope benchmarks share: random public IPv4 /24s
 * (RFC 6890 special-purpose blocks excluded) from a fixed seed, so every
 * script and every server is measured on the same networks.
 */
import { prng } from '../src/geo/clients.js';

/** Public unicast IPv4 only (RFC 6890 special-purpose blocks excluded). */
export function isPublic(a: number, b: number): boolean {
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
  if (a === 100 && b >= 64 && b < 128) return false;
  if (a === 169 && b === 254) return false;
  if (a === 172 && b >= 16 && b < 32) return false;
  if (a === 192 && (b === 168 || b === 0)) return false;
  if (a === 198 && (b === 18 || b === 19)) return false;
  return true;
}

/** `n` random public /24s as [a, b, c] (seed 2026, as bench/scopes.ts has always used). */
export function publicSlash24s(n: number, seed = 2026): Array<[number, number, number]> {
  const rand = prng(seed);
  const out: Array<[number, number, number]> = [];
  while (out.length < n) {
    const a = Math.floor(rand() * 256);
    const b = Math.floor(rand() * 256);
    const c = Math.floor(rand() * 256);
    if (isPublic(a, b)) out.push([a, b, c]);
  }
  return out;
}
