/**
 * Hand-written query decoder for the hot path (RFC 1035 4.1, RFC 6891 6.1).
 * It fills one reusable ParsedQuery instead of building objects: the header,
 * the question's offsets (the qname is never copied, so its case is preserved
 * when the question is echoed), and the OPT record's fields including ECS and
 * where the COOKIE option is (RFC 7873; judged by cookie/, not here).
 * It never throws; every malformed input maps to an outcome.
 */
import { EcsStatus, validateEcs } from '../ecs/parse.js';
import { EdnsOption, HEADER_SIZE, QType } from './constants.js';

/** What to do with a packet after decoding it. */
export const Outcome = {
  /** A well-formed standard query: look it up. */
  OK: 0,
  /** Not worth an answer (no full header, or QR=1). */
  DROP: 1,
  FORMERR: 2,
  NOTIMP: 3,
  BADVERS: 4,
  /**
   * QDCOUNT 0 with a COOKIE option: a request for a server cookie (RFC 7873
   * 5.4), answered from the cookie alone when cookies are on, else FORMERR.
   */
  NO_QUESTION: 5,
} as const;
export type OutcomeCode = (typeof Outcome)[keyof typeof Outcome];

export const MAX_LABELS = 128;

/** Decoded view of one query. One instance is reused per transport. */
export class ParsedQuery {
  id = 0;
  /** Header flags word as received. */
  flags = 0;
  opcode = 0;
  /** True when the question was fully read (qtype/qclass valid). */
  hasQuestion = false;
  /** Offset just past the question (12 + qname + 4). */
  questionEnd = 0;
  /** Wire length of the qname including the root byte. */
  qnameLength = 0;
  qtype = 0;
  qclass = 0;
  labelCount = 0;
  /** Offset of each label's length byte, leftmost first. */
  readonly labelOffsets = new Int32Array(MAX_LABELS);

  hasOpt = false;
  udpSize = 0;
  ednsVersion = 0;
  dnssecOk = false;
  nsidRequested = false;

  hasEcs = false;
  ecsFamily = 0;
  ecsSource = 0;
  /** Offset of the ECS option data (FAMILY field) and its length, for the echo. */
  ecsOffset = 0;
  ecsLength = 0;
  /** Offset of the first COOKIE option's data and its length (RFC 7873 4); -1 when the query has none. */
  cookieOffset = -1;
  cookieLength = 0;
  /**
   * The COOKIE option data the response carries (client cookie + server cookie, RFC 7873
   * 5.2), written by the cookie check; `responseCookieLength` 0: the response has none.
   */
  readonly responseCookie = new Uint8Array(40);
  responseCookieLength = 0;
  /** Why the packet was rejected, for logs and tests (empty when OK). */
  reason = '';

  reset(): void {
    this.hasQuestion = false;
    this.qtype = 0;
    this.qclass = 0;
    this.qnameLength = 0;
    this.labelCount = 0;
    this.hasOpt = false;
    this.udpSize = 0;
    this.ednsVersion = 0;
    this.dnssecOk = false;
    this.nsidRequested = false;
    this.hasEcs = false;
    this.ecsFamily = 0;
    this.ecsSource = 0;
    this.ecsOffset = 0;
    this.ecsLength = 0;
    this.cookieOffset = -1;
    this.cookieLength = 0;
    this.responseCookieLength = 0;
    this.reason = '';
  }
}

/** Skip a (possibly compressed) name in an RR; returns the offset after it or -1. */
function skipName(msg: Uint8Array, off: number, end: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= end) return -1;
    const len = msg[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= end ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    off += 1 + len;
  }
  return -1;
}

/** Read the question's qname: plain labels only (a pointer in the first name can only loop). */
function readQname(msg: Uint8Array, q: ParsedQuery, end: number): number {
  let off = HEADER_SIZE;
  let count = 0;
  for (;;) {
    if (off >= end) return -1;
    const len = msg[off];
    if (len === 0) break;
    if (len > 63 || count === MAX_LABELS) return -1;
    q.labelOffsets[count++] = off;
    off += 1 + len;
  }
  const wireLength = off + 1 - HEADER_SIZE;
  if (wireLength > 255) return -1;
  q.labelCount = count;
  q.qnameLength = wireLength;
  return off + 1;
}

/** Parse the OPT RR whose TTL field starts at `off` (after name and type). */
function readOpt(msg: Uint8Array, q: ParsedQuery, off: number, end: number): number {
  if (off + 8 > end) return -1;
  q.hasOpt = true;
  q.udpSize = (msg[off] << 8) | msg[off + 1];
  q.ednsVersion = msg[off + 3];
  q.dnssecOk = (msg[off + 4] & 0x80) !== 0;
  const rdlen = (msg[off + 6] << 8) | msg[off + 7];
  let p = off + 8;
  const rdEnd = p + rdlen;
  if (rdEnd > end) return -1;
  while (p < rdEnd) {
    if (p + 4 > rdEnd) return -1;
    const code = (msg[p] << 8) | msg[p + 1];
    const len = (msg[p + 2] << 8) | msg[p + 3];
    p += 4;
    if (p + len > rdEnd) return -1;
    if (code === EdnsOption.ECS) {
      // RFC 7871 7.2.1: a malformed option (and a second one) is a FORMERR.
      if (q.hasEcs) {
        q.reason = 'more than one ECS option';
        return -2;
      }
      const status = validateEcs(msg, p, len);
      if (status !== EcsStatus.OK) {
        q.reason = `bad ECS option (${status})`;
        return -2;
      }
      q.hasEcs = true;
      q.ecsFamily = msg[p + 1];
      q.ecsSource = msg[p + 2];
      q.ecsOffset = p;
      q.ecsLength = len;
    } else if (code === EdnsOption.NSID) {
      q.nsidRequested = true;
    } else if (code === EdnsOption.COOKIE && q.cookieOffset < 0) {
      // The first one counts; its length is judged by the cookie check (RFC 7873 5.2.2).
      q.cookieOffset = p;
      q.cookieLength = len;
    }
    // RFC 6891 6.1.2: unknown options are ignored.
    p += len;
  }
  return rdEnd;
}

/**
 * Decode `msg` (length `end`) into `q`. Returns an Outcome. On FORMERR/NOTIMP
 * the header fields (and the question, when it was readable) stay valid for
 * building the error response.
 */
export function parseQuery(msg: Uint8Array, end: number, q: ParsedQuery): OutcomeCode {
  q.reset();
  if (end < HEADER_SIZE) return Outcome.DROP;
  q.id = (msg[0] << 8) | msg[1];
  const flags = (msg[2] << 8) | msg[3];
  q.flags = flags;
  if ((flags & 0x8000) !== 0) return Outcome.DROP; // a response: never answer it (reflection loops)
  q.opcode = (flags >> 11) & 0xf;
  const qdcount = (msg[4] << 8) | msg[5];
  const ancount = (msg[6] << 8) | msg[7];
  const nscount = (msg[8] << 8) | msg[9];
  const arcount = (msg[10] << 8) | msg[11];
  let off = HEADER_SIZE;
  if (qdcount === 1) {
    off = readQname(msg, q, end);
    if (off < 0 || off + 4 > end) return formerr(q, 'malformed question');
    q.qtype = (msg[off] << 8) | msg[off + 1];
    q.qclass = (msg[off + 2] << 8) | msg[off + 3];
    off += 4;
    q.questionEnd = off;
    q.hasQuestion = true;
  } else {
    // Not answerable, but read on: an OPT in the additional section must still be echoed (RFC 6891 7).
    for (let i = qdcount; i > 0 && off >= 0; i--) {
      off = skipName(msg, off, end);
      if (off >= 0) off = off + 4 <= end ? off + 4 : -1;
    }
  }
  // Answer and authority sections are unusual in a query; skip them carefully.
  for (let i = ancount + nscount; i > 0 && off >= 0; i--) {
    off = skipName(msg, off, end);
    if (off < 0 || off + 10 > end) off = -1;
    else {
      off += 10 + ((msg[off + 8] << 8) | msg[off + 9]);
      if (off > end) off = -1;
    }
  }
  for (let i = arcount; i > 0 && off >= 0; i--) {
    const nameStart = off;
    off = skipName(msg, off, end);
    if (off < 0 || off + 10 > end) {
      off = -1;
      break;
    }
    const type = (msg[off] << 8) | msg[off + 1];
    if (type === QType.OPT) {
      // RFC 6891 6.1.1: one OPT only, owned by the root.
      if (q.hasOpt) return formerr(q, 'more than one OPT record');
      if (off - nameStart !== 1) return formerr(q, 'OPT owner is not the root');
      const next = readOpt(msg, q, off + 2, end);
      if (next === -2) return Outcome.FORMERR;
      if (next < 0) return formerr(q, 'malformed OPT record');
      off = next;
    } else {
      off += 10 + ((msg[off + 8] << 8) | msg[off + 9]);
      if (off > end) off = -1;
    }
  }
  if (qdcount === 0 && q.opcode === 0 && off >= 0 && q.cookieOffset >= 0 && q.ednsVersion === 0) {
    q.reason = 'no question (a cookie request)';
    return Outcome.NO_QUESTION;
  }
  if (qdcount !== 1) {
    q.reason = `QDCOUNT ${qdcount}`;
    return q.opcode !== 0 ? Outcome.NOTIMP : Outcome.FORMERR;
  }
  if (q.opcode !== 0) {
    q.reason = `opcode ${q.opcode}`;
    return Outcome.NOTIMP;
  }
  if (off < 0) return formerr(q, 'truncated record');
  if (q.qtype === QType.OPT) return formerr(q, 'OPT as QTYPE');
  if (q.hasOpt && q.ednsVersion > 0) {
    q.reason = `EDNS version ${q.ednsVersion}`;
    return Outcome.BADVERS;
  }
  return Outcome.OK;
}

function formerr(q: ParsedQuery, reason: string): OutcomeCode {
  q.reason = reason;
  return Outcome.FORMERR;
}
