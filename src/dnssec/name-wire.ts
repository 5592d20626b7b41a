/**
 * Domain names in uncompressed wire form, as DNSSEC signs them: canonical
 * lower-casing (RFC 4034 section 6.2), label counts, canonical ordering
 * (RFC 4034 section 6.1) and presentation text with RFC 1035 section 5.1
 * escapes. Query names reach the signer as wire bytes with any octets in
 * them (a random-subdomain flood sends binary labels), so nothing here
 * assumes letters-digits-hyphen names; zone data comes in through
 * `nameToWire` of the zone name helpers.
 */
import { nameToWire } from '../zone/names.js';

/** Longest name in wire form, root label included (RFC 1035 section 2.3.4). */
export const MAX_NAME_WIRE = 255;
/** Longest label (RFC 1035 section 2.3.4). */
export const MAX_LABEL = 63;

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const TO_LOWER = 0x20;

/** Wire form of a canonical zone name (`www.example.net`, '' for the root). */
export const nameWire: (name: string) => Buffer = nameToWire;

/**
 * Length of the uncompressed name starting at `offset`.
 * @throws Error for a compression pointer, a truncated name or one longer than 255 octets.
 */
export function nameWireLength(buf: Uint8Array, offset = 0): number {
  let i = offset;
  for (;;) {
    if (i >= buf.length) throw new Error('truncated domain name');
    const len = buf[i];
    if (len > MAX_LABEL) throw new Error('compressed or invalid label in a name that must be uncompressed');
    i += 1 + len;
    if (i - offset > MAX_NAME_WIRE) throw new Error('domain name longer than 255 octets');
    if (len === 0) return i - offset;
  }
}

/**
 * A lower-cased copy of the uncompressed name (RFC 4034 section 6.2: only
 * US-ASCII letters change, RFC 4343). Label length octets are at most 63, so
 * they are never in 'A'..'Z' and the whole buffer can be folded byte by byte.
 */
export function lowerNameWire(name: Uint8Array): Buffer {
  const out = Buffer.from(name);
  lowerInPlace(out, 0, out.length);
  return out;
}

/** Fold 'A'..'Z' to lower case in `buf[start, end)`. */
export function lowerInPlace(buf: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c >= UPPER_A && c <= UPPER_Z) buf[i] = c | TO_LOWER;
  }
}

/** Offsets of each label's length octet, leftmost first (the root label excluded). */
export function labelOffsets(name: Uint8Array): number[] {
  const offsets: number[] = [];
  let i = 0;
  while (name[i] !== 0) {
    offsets.push(i);
    i += 1 + name[i];
  }
  return offsets;
}

/** Number of labels, the root not counted (`www.example.net` has 3). */
export function labelCount(name: Uint8Array): number {
  return labelOffsets(name).length;
}

/** True when the leftmost label is the single octet '*' (RFC 4592 section 2.1.1). */
export function isWildcard(name: Uint8Array): boolean {
  return name[0] === 1 && name[1] === 0x2a;
}

/**
 * RFC 4034 section 6.1 canonical order of two names: labels compared from
 * the rightmost, each as a lower-cased octet string (a label that is a prefix
 * of the other sorts first), and a name that runs out of labels first sorts
 * first. Returns <0, 0 or >0.
 */
export function compareCanonicalNames(a: Uint8Array, b: Uint8Array): number {
  const la = labelOffsets(a);
  const lb = labelOffsets(b);
  for (let ia = la.length - 1, ib = lb.length - 1; ia >= 0 && ib >= 0; ia--, ib--) {
    const diff = compareLabels(a, la[ia], b, lb[ib]);
    if (diff !== 0) return diff;
  }
  return la.length - lb.length;
}

function compareLabels(a: Uint8Array, oa: number, b: Uint8Array, ob: number): number {
  const lenA = a[oa];
  const lenB = b[ob];
  const n = Math.min(lenA, lenB);
  for (let i = 1; i <= n; i++) {
    const diff = lower(a[oa + i]) - lower(b[ob + i]);
    if (diff !== 0) return diff;
  }
  return lenA - lenB;
}

function lower(c: number): number {
  return c >= UPPER_A && c <= UPPER_Z ? c | TO_LOWER : c;
}

/** Octets that need a backslash in presentation format (RFC 1035 section 5.1, RFC 4343 section 2.1). */
const SPECIAL = new Set([0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24]); // . \ " ( ) ; @ $

/** Presentation text of a wire name, absolute with its trailing dot, `\DDD` for octets that are not printable. */
export function nameWireToText(name: Uint8Array): string {
  if (name[0] === 0) return '.';
  let out = '';
  for (const at of labelOffsets(name)) {
    for (let i = at + 1; i <= at + name[at]; i++) {
      const c = name[i];
      if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, '0')}`;
      else if (SPECIAL.has(c)) out += `\\${String.fromCharCode(c)}`;
      else out += String.fromCharCode(c);
    }
    out += '.';
  }
  return out;
}
