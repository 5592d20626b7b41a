/**
 * A small set of address prefixes tested against raw address bytes without
 * allocating: the RRL exemption list. Linear scan over compact arrays, which
 * beats a trie for the handful of prefixes such a list holds (monitoring,
 * peers, the operator's own resolvers).
 */
import { isV4MappedAt } from '../net/ip.js';

/** An address prefix as bytes (4 or 16, zero past `length`), the shape config parsing produces. */
export interface AddressPrefix {
  family: 4 | 6;
  bytes: Uint8Array;
  length: number;
}

export class PrefixSet {
  private readonly families: Uint8Array;
  private readonly lengths: Uint8Array;
  /** 16 bytes per prefix. */
  private readonly bytes: Uint8Array;

  constructor(prefixes: readonly AddressPrefix[]) {
    const n = prefixes.length;
    this.families = new Uint8Array(n);
    this.lengths = new Uint8Array(n);
    this.bytes = new Uint8Array(n * 16);
    prefixes.forEach((p, i) => {
      let { family, bytes, length } = p;
      // ::ffff:a.b.c.d/n (n >= 96) is the IPv4 prefix a.b.c.d/(n-96) (RFC 4291 2.5.5.2);
      // the limiter sees IPv4-mapped sources as IPv4 too.
      if (family === 6 && length >= 96 && isV4MappedAt(bytes, 0)) {
        family = 4;
        bytes = bytes.subarray(12, 16);
        length -= 96;
      }
      const max = family === 4 ? 32 : 128;
      if (length < 0 || length > max || bytes.length < (length + 7) >> 3) {
        throw new RangeError(`exempt prefix /${length} does not fit an IPv${family} address`);
      }
      this.families[i] = family;
      this.lengths[i] = length;
      this.bytes.set(bytes.subarray(0, (length + 7) >> 3), i * 16);
    });
  }

  get size(): number {
    return this.families.length;
  }

  /** True when the address (`family` 4 or 6, bytes at `addr[off]`) is inside one of the prefixes. */
  contains(family: number, addr: Uint8Array, off: number): boolean {
    const n = this.families.length;
    for (let i = 0; i < n; i++) {
      if (this.families[i] !== family) continue;
      const len = this.lengths[i];
      const base = i * 16;
      const whole = len >> 3;
      let j = 0;
      while (j < whole && addr[off + j] === this.bytes[base + j]) j++;
      if (j < whole) continue;
      const rest = len & 7;
      if (rest === 0) return true;
      const mask = (0xff << (8 - rest)) & 0xff;
      if ((addr[off + whole] & mask) === this.bytes[base + whole]) return true;
    }
    return false;
  }
}
