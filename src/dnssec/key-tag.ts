/**
 * The key tag of a DNSKEY (RFC 4034 Appendix B): a 16-bit checksum of the
 * DNSKEY RDATA that RRSIG and DS records use to name the key. Not unique;
 * a validator tries every key with the tag.
 */

const RSAMD5 = 1;

/** Key tag of DNSKEY RDATA (flags, protocol, algorithm, public key, as on the wire). */
export function keyTag(dnskeyRdata: Uint8Array): number {
  // RFC 4034 Appendix B.1: algorithm 1 takes the most significant 16 of the
  // least significant 24 bits of the modulus.
  if (dnskeyRdata[3] === RSAMD5) {
    const n = dnskeyRdata.length;
    return ((dnskeyRdata[n - 3] << 8) | dnskeyRdata[n - 2]) & 0xffff;
  }
  let ac = 0;
  for (let i = 0; i < dnskeyRdata.length; i++) {
    ac += i & 1 ? dnskeyRdata[i] : dnskeyRdata[i] << 8;
  }
  ac += (ac >>> 16) & 0xffff;
  return ac & 0xffff;
}
