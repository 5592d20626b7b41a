/**
 * Denial of existence for online signing, by compact answers (RFC 9824):
 * every negative answer is NOERROR with one NSEC owned by the query name,
 * whose Next Domain Name is the name's immediate successor in canonical
 * order, so the NSEC covers nothing but the name itself.
 *
 * - A name that does not exist: types RRSIG, NSEC and NXNAME (section 3.1).
 * - A name that exists without the queried type (NODATA): the types present
 *   at the name plus RRSIG and NSEC (section 3.2); an empty non-terminal has
 *   RRSIG and NSEC only.
 * - A wildcard NODATA: the types of the wildcard (section 3.3).
 *
 * Only the NSEC RDATA is made here; its RRSIG is `signRRset` of rrsig.ts.
 */
import { RRType } from './constants.js';
import { lowerNameWire, MAX_LABEL, MAX_NAME_WIRE } from './name-wire.js';
import { encodeTypeBitmap } from './type-bitmap.js';

/** Types of the NSEC for a name that does not exist (RFC 9824 section 3.1). */
export const NXNAME_TYPES: readonly number[] = [RRType.RRSIG, RRType.NSEC, RRType.NXNAME];

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
/** The octet after 'Z' in canonical order, where an increment that lands on a capital letter goes instead. */
const AFTER_UPPER = 0x5b;

/**
 * The immediate successor of a name in canonical order (RFC 4034 section
 * 6.1), lower-cased: `\000.name` (RFC 9824 section 3.1, RFC 4470 section 3)
 * while that fits in 255 octets. A name too long for that has no
 * descendants, so a zero octet appended to its first label follows it
 * directly; when even that does not fit, the first label's last octet is
 * incremented instead (RFC 4471 section 3.1.2), trailing 0xff octets
 * dropped, and when the label is all 0xff the parent is incremented.
 */
export function successorName(name: Uint8Array): Buffer {
  const lower = lowerNameWire(name);
  if (lower.length + 2 <= MAX_NAME_WIRE) return Buffer.concat([Buffer.from([1, 0]), lower]);
  const first = lower[0];
  if (first < MAX_LABEL && lower.length + 1 <= MAX_NAME_WIRE) {
    return Buffer.concat([
      Buffer.from([first + 1]),
      lower.subarray(1, 1 + first),
      Buffer.from([0]),
      lower.subarray(1 + first),
    ]);
  }
  return incrementFirstLabel(lower);
}

function incrementFirstLabel(name: Buffer): Buffer {
  if (name[0] === 0) throw new Error('the root has no successor at this depth');
  const label = [...name.subarray(1, 1 + name[0])];
  const rest = name.subarray(1 + name[0]);
  while (label.length > 0 && label[label.length - 1] === 0xff) label.pop();
  if (label.length === 0) return incrementFirstLabel(Buffer.from(rest));
  let last = label[label.length - 1] + 1;
  if (last >= UPPER_A && last <= UPPER_Z) last = AFTER_UPPER; // capitals compare as lower case
  label[label.length - 1] = last;
  return Buffer.concat([Buffer.from([label.length, ...label]), rest]);
}

/** NSEC RDATA: the next name (wire form, as given) and the type bitmap (RFC 4034 section 4.1). */
export function nsecRdata(next: Uint8Array, types: Iterable<number>): Buffer {
  return Buffer.concat([next, encodeTypeBitmap(types)]);
}

/** One compact-denial NSEC: its owner (the lower-cased query name) and RDATA. */
export interface CompactNsec {
  owner: Buffer;
  rdata: Buffer;
}

/**
 * The compact-denial NSEC for `qname`: `existingTypes` null for a name that
 * does not exist (NXNAME), else the types present at the name (empty for an
 * empty non-terminal). RRSIG and NSEC are always in the bitmap.
 */
export function compactDenialNsec(qname: Uint8Array, existingTypes: readonly number[] | null): CompactNsec {
  const owner = lowerNameWire(qname);
  const types = existingTypes === null ? NXNAME_TYPES : [...existingTypes, RRType.RRSIG, RRType.NSEC];
  return { owner, rdata: nsecRdata(successorName(owner), types) };
}
