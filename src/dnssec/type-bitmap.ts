/**
 * The NSEC Type Bit Maps field (RFC 4034 section 4.1.2): the type space in
 * 256 windows of 256 types; each window present is its number, the length
 * of its bitmap (1..32 octets, trailing zero octets left out) and the
 * bitmap, type 0 of the window in the most significant bit.
 */

/** Encode a set of RR types (duplicates and order do not matter). */
export function encodeTypeBitmap(types: Iterable<number>): Buffer {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  for (const t of sorted) {
    if (!Number.isInteger(t) || t < 0 || t > 0xffff) throw new Error(`RR type ${t} out of range`);
  }
  const parts: Buffer[] = [];
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i] >> 8;
    const bits = Buffer.alloc(32);
    let length = 0;
    for (; i < sorted.length && sorted[i] >> 8 === window; i++) {
      const low = sorted[i] & 0xff;
      bits[low >> 3] |= 0x80 >> (low & 7);
      length = (low >> 3) + 1;
    }
    parts.push(Buffer.from([window, length]), bits.subarray(0, length));
  }
  return Buffer.concat(parts);
}

/**
 * Decode a Type Bit Maps field into ascending types.
 * @throws Error for windows out of order, a length of 0 or above 32, or a truncated field.
 */
export function decodeTypeBitmap(field: Uint8Array): number[] {
  const types: number[] = [];
  let at = 0;
  let previous = -1;
  while (at < field.length) {
    if (at + 2 > field.length) throw new Error('truncated type bitmap window');
    const window = field[at];
    const length = field[at + 1];
    if (window <= previous) throw new Error('type bitmap windows out of order');
    if (length < 1 || length > 32) throw new Error(`type bitmap window length ${length} is not 1..32`);
    if (at + 2 + length > field.length) throw new Error('truncated type bitmap');
    for (let octet = 0; octet < length; octet++) {
      const bits = field[at + 2 + octet];
      for (let bit = 0; bit < 8; bit++) if (bits & (0x80 >> bit)) types.push((window << 8) | (octet << 3) | bit);
    }
    previous = window;
    at += 2 + length;
  }
  return types;
}
