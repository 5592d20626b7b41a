/**
 * DS RDATA (RFC 4034 section 5): key tag, algorithm, digest type and the
 * digest of the owner name (canonical wire form) followed by the DNSKEY
 * RDATA (RFC 4034 section 5.1.4). The same octets are CDS RDATA (RFC 7344
 * section 3.1). Also the RFC 8078 section 4 "delete" CDS/CDNSKEY that ask
 * the parent to remove the DS set.
 */
import { createHash } from 'node:crypto';
import { DigestType, type DigestTypeNumber } from './constants.js';
import { keyTag } from './key-tag.js';
import { lowerNameWire } from './name-wire.js';

const HASHES: Record<DigestTypeNumber, string> = {
  [DigestType.SHA1]: 'sha1',
  [DigestType.SHA256]: 'sha256',
  [DigestType.SHA384]: 'sha384',
};

/** The DS digest of `owner` (wire form, any case) and its DNSKEY RDATA. */
export function dsDigest(owner: Uint8Array, dnskeyRdata: Uint8Array, digestType: DigestTypeNumber): Buffer {
  const hash = HASHES[digestType];
  if (hash === undefined) throw new Error(`unsupported DS digest type ${digestType}`);
  return createHash(hash).update(lowerNameWire(owner)).update(dnskeyRdata).digest();
}

/** DS (and CDS) RDATA for the DNSKEY RDATA at `owner`. */
export function dsRdata(owner: Uint8Array, dnskeyRdata: Uint8Array, digestType: DigestTypeNumber): Buffer {
  const digest = dsDigest(owner, dnskeyRdata, digestType);
  const out = Buffer.alloc(4 + digest.length);
  out.writeUInt16BE(keyTag(dnskeyRdata), 0);
  out[2] = dnskeyRdata[3];
  out[3] = digestType;
  digest.copy(out, 4);
  return out;
}

/** RFC 8078 section 4: `CDS 0 0 0 00`, the request to remove every DS of the zone. */
export const CDS_DELETE = Buffer.from([0, 0, 0, 0, 0]);
/** RFC 8078 section 4: `CDNSKEY 0 3 0 AA==`, the same request as a CDNSKEY. */
export const CDNSKEY_DELETE = Buffer.from([0, 0, 3, 0, 0]);
