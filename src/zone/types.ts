/**
 * Plain record values shared by the config loader, the master-file parser and
 * the zone compiler. Names are canonical: lower-case, absolute, without the
 * trailing dot, the root being '' (the form dns-packet uses).
 */

/**
 * Record types whose RDATA Meridian parses into a structure (dns-packet's
 * shape): the server reads the names inside (CNAME and DNAME targets, NS for
 * delegations, SOA for negative answers, MX/SRV targets for nothing but
 * validation).
 */
export const STATIC_TYPES = ['SOA', 'NS', 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'PTR', 'DNAME'] as const;
export type StaticType = (typeof STATIC_TYPES)[number];

/**
 * Record types kept as their wire RDATA (parsed from presentation format,
 * validated, then served as bytes): the server never looks inside them.
 */
export const OPAQUE_TYPES = ['SVCB', 'HTTPS', 'TLSA', 'SSHFP', 'NAPTR', 'LOC', 'DS'] as const;
export type OpaqueType = (typeof OPAQUE_TYPES)[number];

/** A type in RFC 3597 generic form, for types Meridian has no mnemonic for. */
export type GenericType = `TYPE${number}`;
/** Every record type a zone can hold. */
export type RecordType = StaticType | OpaqueType | GenericType;

/** Type codes (IANA "Resource Record (RR) TYPEs"). */
export const TYPE_CODES: Readonly<Record<StaticType | OpaqueType, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  LOC: 29,
  SRV: 33,
  NAPTR: 35,
  DNAME: 39,
  DS: 43,
  SSHFP: 44,
  TLSA: 52,
  SVCB: 64,
  HTTPS: 65,
  CAA: 257,
};

const BY_CODE = new Map<number, StaticType | OpaqueType>(
  Object.entries(TYPE_CODES).map(([k, v]) => [v, k as StaticType | OpaqueType]),
);

/**
 * Codes a zone may not hold: 0, OPT (RFC 6891), the DNSSEC records that only
 * make sense signed by the server (RRSIG, NSEC, NSEC3: Meridian signs online, docs/dnssec.md)
 * and the meta and query types 128-255 (RFC 6895 3.1).
 */
function forbiddenCode(code: number): string | null {
  if (code === 0) return 'type 0 is reserved';
  if (code === 41) return 'OPT is a pseudo-record (RFC 6891), not zone data';
  if (code === 46 || code === 47 || code === 50)
    return 'RRSIG, NSEC and NSEC3 records are made by Meridian itself (online signing: a dnssec: section); a pre-signed zone cannot be served';
  if (code >= 128 && code <= 255) return `type ${code} is a query or meta type (RFC 6895), not zone data`;
  return null;
}

/** True for the structured types. */
export function isStaticType(type: string): type is StaticType {
  return (STATIC_TYPES as readonly string[]).includes(type);
}

/**
 * The record type a presentation-format type field names: a mnemonic
 * (case-insensitive) or RFC 3597 `TYPEnnn`, which is the mnemonic when we
 * know the code.
 * @throws Error for an unknown mnemonic, a bad number or a type zones cannot hold.
 */
export function recordTypeOf(text: string): RecordType {
  const upper = text.toUpperCase();
  if (upper in TYPE_CODES) return upper as StaticType | OpaqueType;
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  if (!generic) throw new Error(`unknown record type '${text}'`);
  const code = Number(generic[1]);
  if (code > 65535) throw new Error(`type number ${code} is out of range 0..65535`);
  const forbidden = forbiddenCode(code);
  if (forbidden) throw new Error(forbidden);
  return BY_CODE.get(code) ?? (`TYPE${code}` as GenericType);
}

/** The numeric code of a record type. */
export function typeCode(type: RecordType): number {
  return (TYPE_CODES as Record<string, number>)[type] ?? Number(type.slice(4));
}

/** Every mnemonic, for help texts and "did you mean". */
export const TYPE_MNEMONICS: readonly string[] = [...STATIC_TYPES, ...OPAQUE_TYPES];

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export interface MxData {
  preference: number;
  exchange: string;
}
export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export interface CaaData {
  flags: number;
  tag: string;
  value: string;
}

/** RDATA per type, in dns-packet's shape so it can be encoded directly. */
export interface RdataByType {
  SOA: SoaData;
  NS: string;
  A: string;
  AAAA: string;
  CNAME: string;
  MX: MxData;
  /** TXT: the character-strings of one record (each at most 255 bytes). */
  TXT: string[];
  SRV: SrvData;
  CAA: CaaData;
  PTR: string;
  DNAME: string;
}

export type RecordOf<T extends StaticType> = { name: string; type: T; ttl: number; data: RdataByType[T] };

/** A record whose RDATA is served as bytes: `data` is the RDATA in hex. */
export interface OpaqueRecord {
  name: string;
  type: OpaqueType | GenericType;
  ttl: number;
  data: string;
}

/** One resource record (class IN). */
export type ZoneRecord = { [T in StaticType]: RecordOf<T> }[StaticType] | OpaqueRecord;
