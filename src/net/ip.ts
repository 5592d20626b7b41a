/**
 * IP addresses and prefixes as bytes. Parsing for config (strict, with
 * messages) and a no-allocation parser for socket address strings (hot path).
 * Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Prefix {
  family: 4 | 6;
  /** 4 or 16 bytes, zero past the prefix. */
  bytes: Uint8Array;
  length: number;
}

function v4Bytes(s: string, out: Uint8Array, at: number): void {
  const parts = s.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
}

/** Parse an IPv4 or IPv6 address; null if invalid. IPv4-mapped IPv6 stays IPv6. */
export function parseIp(text: string): { family: 4 | 6; bytes: Uint8Array } | null {
  if (isIPv4(text)) {
    const bytes = new Uint8Array(4);
    v4Bytes(text, bytes, 0);
    return { family: 4, bytes };
  }
  if (!isIPv6(text)) return null;
  const bytes = new Uint8Array(16);
  let s = text;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  let tailV4: string | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tailV4 = s.slice(lastColon + 1);
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, null];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = new Array<string>(8).fill('0');
  headGroups.forEach((g, i) => (groups[i] = g));
  tailGroups.forEach((g, i) => (groups[8 - tailGroups.length + i] = g));
  for (let i = 0; i < 8; i++) {
    const v = parseInt(groups[i] || '0', 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 0xff;
  }
  if (tailV4) v4Bytes(tailV4, bytes, 12);
  return { family: 6, bytes };
}

/** Zero the bits of `bytes` past `length`; returns true if any were set. */
export function maskInPlace(bytes: Uint8Array, length: number): boolean {
  let changed = false;
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((bytes[i] & ~mask & 0xff) !== 0) changed = true;
    bytes[i] &= mask;
  }
  return changed;
}

/** Parse "a.b.c.d/n" or "x::/n" (a bare address is a full-length prefix). Throws with a message. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addrText);
  if (!ip) throw new Error(`'${text}' is not an IPv4 or IPv6 prefix`);
  const max = ip.family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      throw new Error(`'${text}': prefix length must be 0-${max}`);
    }
    length = Number(lenText);
  }
  if (maskInPlace(ip.bytes, length)) throw new Error(`'${text}' has host bits set past /${length}`);
  return { family: ip.family, bytes: ip.bytes, length };
}

/** True for ::ffff:0:0/96 addresses (IPv4-mapped IPv6). */
export function isV4MappedBytes(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Text form of a prefix, e.g. 192.0.2.0/24 or 2001:db8::/32. */
export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.family, p.bytes)}/${p.length}`;
}

/** Text form of an address (IPv6 compressed per RFC 5952). */
export function formatIp(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (isV4MappedBytes(bytes)) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`; // RFC 5952 5
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[i * 2] << 8) | bytes[i * 2 + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Parse a socket address string (from dgram/net) into `out` (16 bytes) without
 * allocating. Returns 4 or 6, or 0 if unparsable. IPv4-mapped IPv6
 * (::ffff:a.b.c.d, seen on dual-stack sockets) is returned as IPv4.
 */
export function parseSocketAddress(s: string, out: Uint8Array): 0 | 4 | 6 {
  const n = s.length;
  if (s.indexOf(':') < 0) return parseV4Chars(s, 0, n, out, 0) ? 4 : 0;
  if (n > 7 && s.charCodeAt(0) === 58 && s.startsWith('::ffff:') && s.indexOf('.') > 0) {
    return parseV4Chars(s, 7, n, out, 0) ? 4 : 0;
  }
  const ip = parseIp(s); // rare: IPv6 clients without ECS
  if (!ip) return 0;
  out.set(ip.bytes);
  return 6;
}

function parseV4Chars(s: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let octet = 0;
  let digits = 0;
  let idx = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || idx === 3) return false;
      out[at + idx++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else return false;
  }
  if (digits === 0 || idx !== 3) return false;
  out[at + 3] = octet;
  return true;
}

/** True when the 16 bytes at `b[off]` are an IPv4-mapped IPv6 address (::ffff:0:0/96); for raw socket address bytes. */
export function isV4MappedAt(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}

/**
 * The network of a socket address string cut to a prefix, as text ("192.0.2.0/24",
 * "2001:db8:0:100::/56"; IPv4-mapped IPv6 is IPv4): a key for per-network limits.
 * An address that cannot be read is its own key.
 */
export function networkOf(address: string, ipv4Length: number, ipv6Length: number): string {
  const bytes = new Uint8Array(16);
  const family = parseSocketAddress(address, bytes);
  if (family === 0) return address;
  const length = family === 4 ? ipv4Length : ipv6Length;
  const addr = bytes.subarray(0, family === 4 ? 4 : 16);
  maskInPlace(addr, length);
  return `${formatIp(family, addr)}/${length}`;
}
