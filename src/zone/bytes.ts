/**
 * Small helpers for RDATA served as bytes: a growing byte writer, and readers
 * for the presentation-format pieces those types share (unsigned integers,
 * hex and base64 blobs, character-strings, names), plus a bounds-checked
 * reader for validating wire RDATA. Build time only, never per query.
 */
import { decodeEscapeBytes, type Token } from './rdata.js';
import { nameToWire, resolveName } from './names.js';

/** Appends big-endian fields; `bytes()` returns what was written. */
export class ByteWriter {
  private buf = new Uint8Array(64);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf[this.length++] = v >> 8;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf[this.length++] = (v >>> 24) & 0xff;
    this.buf[this.length++] = (v >>> 16) & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  raw(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** A <character-string>: one length octet, then at most 255 octets (RFC 1035 3.3). */
  charString(b: Uint8Array, what: string): this {
    if (b.length > 255) throw new Error(`${what} is ${b.length} octets long, max 255`);
    return this.u8(b.length).raw(b);
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** An unsigned decimal integer in 0..max. */
export function uint(text: string, what: string, max: number): number {
  if (!/^\d+$/.test(text)) throw new Error(`${what} must be an unsigned integer, got '${text}'`);
  const value = Number(text);
  if (value > max) throw new Error(`${what} ${text} is out of range 0..${max}`);
  return value;
}

/** Hex digits, possibly split over several whitespace-separated tokens (RFC 4034 5.3, RFC 6698 2.2). */
export function hexBytes(tokens: readonly Token[], what: string): Uint8Array {
  const text = tokens.map((t) => t.text).join('');
  if (tokens.some((t) => t.quoted) || !/^[0-9a-fA-F]*$/.test(text))
    throw new Error(`${what} must be hexadecimal digits`);
  if (text.length % 2 !== 0) throw new Error(`${what} has an odd number of hex digits (${text.length})`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** Strict base64 (RFC 4648 section 4): the alphabet, padding only at the end, no stray bits. */
export function base64Bytes(text: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error(`${what} is not valid base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new Error(`${what} is not valid base64`);
  return Uint8Array.from(bytes);
}

/** A <character-string> token (quoted or bare, RFC 1035 escapes) as octets. */
export function charStringBytes(token: Token): Uint8Array {
  return decodeEscapeBytes(token.raw);
}

/** A domain name token resolved against `origin`, in uncompressed wire form (lower case). */
export function nameBytes(token: Token, origin: string, what: string): Uint8Array {
  if (token.quoted) throw new Error(`${what} must not be a quoted string`);
  try {
    return Uint8Array.from(nameToWire(resolveName(token.text, origin)));
  } catch (err) {
    throw new Error(`bad ${what} '${token.text}': ${(err as Error).message}`);
  }
}

/** Reads wire RDATA with bounds checks; every overrun is an Error naming the record type. */
export class ByteReader {
  off = 0;

  constructor(
    readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get left(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new Error(`${this.what} RDATA is truncated`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++];
  }

  u16(): number {
    this.need(2);
    const v = (this.buf[this.off] << 8) | this.buf[this.off + 1];
    this.off += 2;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }

  /** A <character-string>. */
  charString(): Uint8Array {
    return this.take(this.u8());
  }

  /** An uncompressed domain name (RFC 3597 section 4: no compression in types defined after RFC 1035). */
  name(): void {
    let total = 0;
    for (;;) {
      const len = this.u8();
      total += len + 1;
      if (len === 0) break;
      if (len > 63) throw new Error(`${this.what} RDATA holds a compressed or malformed name`);
      this.take(len);
    }
    if (total > 255) throw new Error(`${this.what} RDATA holds a name longer than 255 octets`);
  }

  end(): void {
    if (this.left !== 0) throw new Error(`${this.what} RDATA has ${this.left} octets left over`);
  }
}
