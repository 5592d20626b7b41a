/** DNS wire constants used by the hand-written fast path (RFC 1035, 6891, 7871, 5001). */

export const HEADER_SIZE = 12;

/** Largest DNS message (the 16-bit TCP length, RFC 1035 4.2.2): an output buffer this big fits any answer. */
export const MAX_MESSAGE = 65535;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** RFC 6672 2.2: a DNAME substitution would make a name longer than 255 octets. */
  YXDOMAIN: 6,
  /** Extended rcode 16 (RFC 6891 section 9): upper 8 bits go into the OPT TTL. */
  BADVERS: 16,
  /** Extended rcode 23 (RFC 7873 8): a server cookie is missing or invalid. */
  BADCOOKIE: 23,
} as const;

export const QType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

export const QClass = { IN: 1, CH: 3, ANY: 255 } as const;

/** EDNS option codes: NSID (RFC 5001), Client Subnet (RFC 7871), COOKIE (RFC 7873). */
export const EdnsOption = { NSID: 3, ECS: 8, COOKIE: 10 } as const;

/** UDP payload limit without EDNS (RFC 1035 4.2.1). */
export const UDP_NO_EDNS_MAX = 512;

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  16: 'BADVERS',
  23: 'BADCOOKIE',
};

/** Transport a query arrived on (index into per-transport counters). */
export const UDP = 0;
export const TCP = 1;
export type Transport = typeof UDP | typeof TCP;
