/**
 * Encode one resource record with dns-packet (used when answers are
 * precompiled, never per query). @types/dns-packet does not declare the
 * `answer` codec the package exports, so it is typed here once.
 */
import dnsPacket from 'dns-packet';

const answerCodec = (
  dnsPacket as unknown as {
    answer: { encode(rr: dnsPacket.Answer): Buffer; decode(buf: Buffer, offset: number): dnsPacket.Answer };
  }
).answer;

export interface RRInput {
  /** Owner name, canonical ('' = root). */
  name: string;
  type: string;
  class?: 'IN' | 'CH';
  ttl: number;
  data: unknown;
}

export function encodeRR(rr: RRInput): Buffer {
  // dns-packet sizes '' as two bytes but writes one: spell the root '.'.
  return answerCodec.encode({ class: 'IN', ...rr, name: rr.name === '' ? '.' : rr.name } as dnsPacket.Answer);
}

/** Encode with the owner written as a pointer to the question name (offset 12). */
export function encodeRRAtQname(rr: Omit<RRInput, 'name'>): Buffer {
  const bytes = encodeRR({ ...rr, name: '' });
  return Buffer.concat([Buffer.from([0xc0, 0x0c]), bytes.subarray(1)]); // root label (1 byte) -> 2-byte pointer
}

/**
 * Decode `rdata` as the RDATA of `type` (code `code`) into dns-packet's
 * shape; null when the bytes are not exactly one well-formed RDATA of that
 * type (checked by encoding the result again).
 */
export function decodeRdata(type: string, code: number, rdata: Uint8Array): unknown {
  const rr = Buffer.alloc(11 + rdata.length);
  rr.writeUInt16BE(code, 1);
  rr.writeUInt16BE(1, 3);
  rr.writeUInt16BE(rdata.length, 9);
  rr.set(rdata, 11);
  try {
    const decoded = answerCodec.decode(rr, 0) as { data: unknown };
    return encodeRR({ name: '', type, ttl: 0, data: decoded.data }).equals(rr) ? decoded.data : null;
  } catch {
    return null;
  }
}
