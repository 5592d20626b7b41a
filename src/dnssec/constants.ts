/**
 * DNSSEC code points: RR types (RFC 4034, 7344, 9824), DNSKEY flags
 * (RFC 4034 section 2.1.1, RFC 5011 section 3), DS digest types (RFC 4509,
 * 6605), and the type mnemonics used when records are written as text.
 */
import { QClass, QType } from '../wire/constants.js';

export const RRType = {
  ...QType,
  NAPTR: 35,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  CDS: 59,
  CDNSKEY: 60,
  /** RFC 9824 section 2: meta type marking a compact-denial NSEC for a name that does not exist. */
  NXNAME: 128,
} as const;

export const CLASS_IN = QClass.IN;

/** DNSKEY flags (RFC 4034 section 2.1.1, RFC 5011 section 3). */
export const DnskeyFlag = {
  /** Bit 7: the key is a zone key; every DNSKEY Meridian uses has it. */
  ZONE: 0x0100,
  /** Bit 8: revoked (RFC 5011). */
  REVOKE: 0x0080,
  /** Bit 15: secure entry point, the key the parent's DS points at (a KSK or CSK). */
  SEP: 0x0001,
} as const;

/** DNSKEY flags of a zone-signing key (256) and of a key- or combined signing key (257). */
export const ZSK_FLAGS = DnskeyFlag.ZONE;
export const KSK_FLAGS = DnskeyFlag.ZONE | DnskeyFlag.SEP;

/** The DNSKEY protocol field is always 3 (RFC 4034 section 2.1.2). */
export const DNSKEY_PROTOCOL = 3;

/** DS digest types: SHA-1 (RFC 4034, kept to check old vectors), SHA-256 (RFC 4509), SHA-384 (RFC 6605). */
export const DigestType = { SHA1: 1, SHA256: 2, SHA384: 4 } as const;
export type DigestTypeNumber = (typeof DigestType)[keyof typeof DigestType];

/** Mnemonics for the types Meridian writes in text (RFC 3597 `TYPEnnn` for the rest). */
const TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries({ ...RRType, SSHFP: 44, TLSA: 52, SVCB: 64, HTTPS: 65, NSEC3: 50, NSEC3PARAM: 51 }).map(
    ([name, code]) => [code, name] as const,
  ),
);

const TYPE_CODES: ReadonlyMap<string, number> = new Map([...TYPE_NAMES].map(([code, name]) => [name, code] as const));

/** The type code of a mnemonic or of RFC 3597 `TYPEnnn`, case-insensitive; undefined when unknown. */
export function typeCode(mnemonic: string): number | undefined {
  const upper = mnemonic.toUpperCase();
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (generic !== null && Number(generic[1]) <= 0xffff) return Number(generic[1]);
  return TYPE_CODES.get(upper);
}

/** Presentation mnemonic of an RR type (`TYPE1234` when it has none here, RFC 3597 section 5). */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}
