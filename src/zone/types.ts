/**
 * Plain record values shared by the config loader, the master-file parser and
 * the zone compiler. Names are canonical: lower-case, absolute, without the
 * trailing dot, the root being '' (the form dns-packet uses).
 */

/** Record types Meridian serves from static data. */
export const STATIC_TYPES = ['SOA', 'NS', 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'PTR'] as const;
export type StaticType = (typeof STATIC_TYPES)[number];

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
}

export type RecordOf<T extends StaticType> = { name: string; type: T; ttl: number; data: RdataByType[T] };

/** One resource record (class IN). */
export type ZoneRecord = { [T in StaticType]: RecordOf<T> }[StaticType];
