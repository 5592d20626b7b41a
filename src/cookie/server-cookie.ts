/**
 * Interoperable server cookies, RFC 9018 section 4: 16 bytes
 *   Version (1, = 1) | Reserved (3, zero when made) | Timestamp (4, Unix seconds) | Hash (8)
 * where Hash = SipHash-2-4(secret, Client Cookie | Version | Reserved | Timestamp | Client-IP),
 * Client-IP being the 4 or 16 address bytes. Pure byte work on caller
 * buffers; the one scratch buffer belongs to the instance (one per thread).
 */
import { SipHash24 } from './siphash.js';

export const CLIENT_COOKIE_LENGTH = 8;
export const SERVER_COOKIE_LENGTH = 16;
export const SERVER_COOKIE_VERSION = 1;
/** Client cookie + version, reserved and timestamp: the part of the hash input that comes from the cookie. */
const COOKIE_PREFIX = CLIENT_COOKIE_LENGTH + 8;

/** Makes and checks server cookies under one secret. */
export class CookieSigner {
  private readonly sip: SipHash24;
  private readonly input = new Uint8Array(COOKIE_PREFIX + 16);
  private readonly mac = new Uint8Array(8);

  constructor(secret: Uint8Array) {
    this.sip = new SipHash24(secret);
  }

  /**
   * Write a fresh server cookie for the client cookie at `cc[ccOff]` to `out[outOff..+16]`:
   * version 1, reserved 0, timestamp `nowSec`, and its hash for the client address
   * (`family` 4 or 6, bytes at `addr[addrOff]`).
   */
  make(
    cc: Uint8Array,
    ccOff: number,
    family: number,
    addr: Uint8Array,
    addrOff: number,
    nowSec: number,
    out: Uint8Array,
    outOff: number,
  ): void {
    const input = this.input;
    for (let i = 0; i < CLIENT_COOKIE_LENGTH; i++) input[i] = cc[ccOff + i];
    input[8] = SERVER_COOKIE_VERSION;
    input[9] = 0;
    input[10] = 0;
    input[11] = 0;
    input[12] = nowSec >>> 24;
    input[13] = nowSec >>> 16;
    input[14] = nowSec >>> 8;
    input[15] = nowSec;
    const len = this.appendAddress(family, addr, addrOff);
    for (let i = 0; i < 8; i++) out[outOff + i] = input[8 + i];
    this.sip.hash(input, 0, len, out, outOff + 8);
  }

  /**
   * True when the 24 bytes at `opt[off]` (client cookie then a 16-byte server cookie,
   * as they stand in a COOKIE option) carry this secret's hash for the client address.
   * The timestamp and reserved bytes are hashed as received (RFC 9018 A.3); the
   * caller checks the version and the timestamp's age.
   */
  verify(opt: Uint8Array, off: number, family: number, addr: Uint8Array, addrOff: number): boolean {
    const input = this.input;
    for (let i = 0; i < COOKIE_PREFIX; i++) input[i] = opt[off + i];
    const len = this.appendAddress(family, addr, addrOff);
    const mac = this.mac;
    this.sip.hash(input, 0, len, mac, 0);
    // No early exit: the comparison takes the same time wherever the bytes differ.
    let diff = 0;
    for (let i = 0; i < 8; i++) diff |= mac[i] ^ opt[off + COOKIE_PREFIX + i];
    return diff === 0;
  }

  private appendAddress(family: number, addr: Uint8Array, addrOff: number): number {
    const n = family === 4 ? 4 : 16;
    for (let i = 0; i < n; i++) this.input[COOKIE_PREFIX + i] = addr[addrOff + i];
    return COOKIE_PREFIX + n;
  }
}
