/**
 * DNSKEY RDATA (RFC 4034 section 2.1): flags, protocol 3, algorithm and the
 * public key. The same octets are CDNSKEY RDATA (RFC 7344 section 3.2).
 */
import { DNSKEY_PROTOCOL, DnskeyFlag } from './constants.js';

export interface DnskeyFields {
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: Buffer;
}

/** DNSKEY RDATA for a zone key (protocol 3). */
export function dnskeyRdata(flags: number, algorithm: number, publicKey: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + publicKey.length);
  out.writeUInt16BE(flags, 0);
  out[2] = DNSKEY_PROTOCOL;
  out[3] = algorithm;
  out.set(publicKey, 4);
  return out;
}

/** @throws Error for RDATA shorter than the fixed fields. */
export function parseDnskeyRdata(rdata: Uint8Array): DnskeyFields {
  if (rdata.length < 5) throw new Error(`DNSKEY RDATA of ${rdata.length} octets is too short`);
  const b = Buffer.from(rdata.buffer, rdata.byteOffset, rdata.length);
  return { flags: b.readUInt16BE(0), protocol: b[2], algorithm: b[3], publicKey: Buffer.from(b.subarray(4)) };
}

/** A secure entry point (SEP bit): a KSK or a CSK, the key a DS points at. */
export function isSep(flags: number): boolean {
  return (flags & DnskeyFlag.SEP) !== 0;
}

/** A zone key that is not revoked: the only DNSKEYs that may verify zone data (RFC 4035 section 5.3.1). */
export function isUsableZoneKey(flags: number): boolean {
  return (flags & DnskeyFlag.ZONE) !== 0 && (flags & DnskeyFlag.REVOKE) === 0;
}
