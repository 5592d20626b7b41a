/**
 * RRSIG records (RFC 4034 section 3): the RDATA layout, the labels field,
 * the signed data (RRSIG RDATA without the signature, then the RRset in
 * canonical form, RFC 4034 section 3.1.8.1), signing with a zone key, and
 * verification as a validator does it (RFC 4035 section 5.3), wildcard
 * expansions included.
 */
import { canonicalRRsetWire, type RRset } from './canonical.js';
import { importPublicKey, signData, verifyData, type KeyMaterial } from './crypto-keys.js';
import { isUsableZoneKey, parseDnskeyRdata } from './dnskey.js';
import { keyTag } from './key-tag.js';
import { isWildcard, labelOffsets, lowerNameWire, nameWireLength } from './name-wire.js';
import { compareSerialTime } from './time.js';

const WILDCARD_LABEL = Buffer.from([1, 0x2a]);

/** The fields of an RRSIG RDATA. */
export interface RrsigFields {
  typeCovered: number;
  algorithm: number;
  labels: number;
  originalTtl: number;
  /** 32-bit times (seconds since the epoch modulo 2^32). */
  expiration: number;
  inception: number;
  keyTag: number;
  /** Signer name, uncompressed wire form (lower-cased when we write it). */
  signer: Uint8Array;
  signature: Uint8Array;
}

/** A key that signs: its material, DNSKEY RDATA and tag. */
export interface ZoneSigningKey {
  readonly material: KeyMaterial;
  readonly dnskey: Buffer;
  readonly keyTag: number;
}

/** The validity window of one signature, 32-bit RRSIG times or plain seconds since the epoch. */
export interface SignatureTimes {
  inception: number;
  expiration: number;
}

/**
 * The RRSIG labels field for an owner: its labels without the root and
 * without a leading wildcard label (RFC 4034 section 3.1.3).
 */
export function rrsigLabels(owner: Uint8Array): number {
  const n = labelOffsets(owner).length;
  return isWildcard(owner) ? n - 1 : n;
}

/** RRSIG RDATA from its fields; the signer name is written lower-cased (RFC 6840 section 5.1). */
export function encodeRrsig(f: RrsigFields): Buffer {
  const signer = lowerNameWire(f.signer);
  const out = Buffer.alloc(18 + signer.length + f.signature.length);
  out.writeUInt16BE(f.typeCovered, 0);
  out[2] = f.algorithm;
  out[3] = f.labels;
  out.writeUInt32BE(f.originalTtl >>> 0, 4);
  out.writeUInt32BE(f.expiration >>> 0, 8);
  out.writeUInt32BE(f.inception >>> 0, 12);
  out.writeUInt16BE(f.keyTag, 16);
  signer.copy(out, 18);
  out.set(f.signature, 18 + signer.length);
  return out;
}

/** @throws Error for truncated RRSIG RDATA. */
export function parseRrsig(rdata: Uint8Array): RrsigFields {
  if (rdata.length < 19) throw new Error(`RRSIG RDATA of ${rdata.length} octets is too short`);
  const b = Buffer.from(rdata.buffer, rdata.byteOffset, rdata.length);
  const signerLength = nameWireLength(b, 18);
  return {
    typeCovered: b.readUInt16BE(0),
    algorithm: b[2],
    labels: b[3],
    originalTtl: b.readUInt32BE(4),
    expiration: b.readUInt32BE(8),
    inception: b.readUInt32BE(12),
    keyTag: b.readUInt16BE(16),
    signer: Buffer.from(b.subarray(18, 18 + signerLength)),
    signature: Buffer.from(b.subarray(18 + signerLength)),
  };
}

/**
 * The octets an RRSIG signs: its RDATA up to the signer name, then the
 * canonical RRset with the original TTL. `owner` overrides the RRset's owner
 * (a validator passes the rebuilt wildcard name).
 */
export function rrsigSignedData(fields: Omit<RrsigFields, 'signature'>, rrset: RRset, owner?: Uint8Array): Buffer {
  const head = encodeRrsig({ ...fields, signature: Buffer.alloc(0) });
  return Buffer.concat([head, canonicalRRsetWire(rrset, fields.originalTtl, owner ?? rrset.owner)]);
}

/**
 * Sign an RRset: the RRSIG RDATA with the RRset's TTL as original TTL and
 * the labels of its owner (a wildcard owner `*.example.net` gives the
 * labels of `example.net`, so the one signature covers every expansion).
 */
export function signRRset(rrset: RRset, key: ZoneSigningKey, signer: Uint8Array, times: SignatureTimes): Buffer {
  const fields = {
    typeCovered: rrset.type,
    algorithm: key.material.algorithm,
    labels: rrsigLabels(rrset.owner),
    originalTtl: rrset.ttl,
    expiration: times.expiration >>> 0,
    inception: times.inception >>> 0,
    keyTag: key.keyTag,
    signer,
  };
  const signature = signData(key.material.algorithm, key.material.privateKey, rrsigSignedData(fields, rrset));
  return encodeRrsig({ ...fields, signature });
}

/** Why a signature does not verify, or 'valid'. */
export type RrsigVerdict =
  | 'valid'
  | 'type-mismatch'
  | 'key-mismatch'
  | 'labels-mismatch'
  | 'not-yet-valid'
  | 'expired'
  | 'bad-signature';

/**
 * Verify one RRSIG over an RRset with one DNSKEY, as RFC 4035 section 5.3
 * does: the covered type, algorithm and key tag must match a usable zone
 * key; the labels field must not exceed the owner's labels; when it is
 * smaller the owner is a wildcard expansion and the signed owner is `*.` and
 * the rightmost `labels` labels; `now` (seconds, any width) must lie between
 * inception and expiration in serial-number arithmetic. The signer name is
 * the caller's to check against the zone.
 */
export function verifyRrsig(rrset: RRset, rrsigRdata: Uint8Array, dnskey: Uint8Array, now: number): RrsigVerdict {
  const sig = parseRrsig(rrsigRdata);
  if (sig.typeCovered !== rrset.type) return 'type-mismatch';
  const key = parseDnskeyRdata(dnskey);
  if (key.algorithm !== sig.algorithm || keyTag(dnskey) !== sig.keyTag || !isUsableZoneKey(key.flags))
    return 'key-mismatch';
  const offsets = labelOffsets(rrset.owner);
  const ownerLabels = isWildcard(rrset.owner) ? offsets.length - 1 : offsets.length;
  if (sig.labels > ownerLabels) return 'labels-mismatch';
  let signedOwner = rrset.owner;
  if (sig.labels < offsets.length) {
    const start = sig.labels === 0 ? nameWireLength(rrset.owner) - 1 : offsets[offsets.length - sig.labels];
    signedOwner = Buffer.concat([WILDCARD_LABEL, rrset.owner.subarray(start)]);
  }
  const t = now >>> 0;
  if (compareSerialTime(t, sig.inception) < 0) return 'not-yet-valid';
  if (compareSerialTime(t, sig.expiration) > 0) return 'expired';
  const { signature, ...fields } = sig;
  let publicKey: ReturnType<typeof importPublicKey>;
  try {
    publicKey = importPublicKey(key.algorithm, key.publicKey);
  } catch {
    return 'key-mismatch';
  }
  const data = rrsigSignedData(fields, rrset, signedOwner);
  return verifyData(key.algorithm, publicKey, data, signature) ? 'valid' : 'bad-signature';
}
