/**
 * Response assembly for the hot path. Sections arrive pre-encoded (owner names
 * of answer records point at the question with 0xC00C, so the bytes fit any
 * qname spelling); this module only writes the header, copies the question as
 * the client sent it (case preserved), appends the sections and the OPT record
 * (ECS echo with SCOPE, NSID, the COOKIE the cookie check prepared), and
 * truncates to the client's size limit. Rate-limited queries get a minimal
 * truncated answer (writeTruncated).
 */
import { EdnsOption, HEADER_SIZE, Rcode } from './constants.js';
import type { ParsedQuery } from './query.js';

/** Pre-encoded sections of an answer; shared, immutable. */
export interface Sections {
  rcode: number;
  aa: boolean;
  answer: Uint8Array;
  anCount: number;
  authority: Uint8Array;
  nsCount: number;
  additional: Uint8Array;
  arCount: number;
  /** RFC 9471: glue needed to follow a referral; if it does not fit, set TC rather than drop it. */
  additionalRequired: boolean;
  /** authority + additional, pre-joined (one copy on the hot path). */
  rest: Uint8Array;
  /** answer + authority + additional, pre-joined. */
  all: Uint8Array;
}

/** Join the sections once, at build time. */
export function joinSections(s: Pick<Sections, 'answer' | 'authority' | 'additional'>): {
  rest: Uint8Array;
  all: Uint8Array;
} {
  const rest = new Uint8Array(s.authority.length + s.additional.length);
  rest.set(s.authority, 0);
  rest.set(s.additional, s.authority.length);
  const all = new Uint8Array(s.answer.length + rest.length);
  all.set(s.answer, 0);
  all.set(rest, s.answer.length);
  return { rest, all };
}

/** Server-side EDNS settings the writer needs. */
export interface EdnsSettings {
  /** Our largest UDP payload (advertised in the OPT CLASS). */
  udpMax: number;
  /** NSID payload (RFC 5001); empty = do not answer NSID. */
  nsid: Uint8Array;
}

/** Size of our OPT record for this query (0 when the query had none). */
function optSize(q: ParsedQuery, edns: EdnsSettings, withEcs: boolean, withNsid: boolean): number {
  if (!q.hasOpt) return 0;
  let size = 11;
  if (withEcs && q.hasEcs) size += 4 + q.ecsLength;
  if (withNsid && q.nsidRequested && edns.nsid.length > 0) size += 4 + edns.nsid.length;
  if (q.responseCookieLength > 0) size += 4 + q.responseCookieLength;
  return size;
}

/**
 * Build the response to `q` into `out` at `o` and return its length. `tail`
 * is the client-dependent part of the answer section (geo records), appended
 * after `s.answer`. `scope` is the ECS SCOPE PREFIX-LENGTH to echo. `limit` is
 * the largest message the transport may send; `out` must have room for it
 * from `o` on.
 */
export function writeResponse(
  out: Uint8Array,
  o: number,
  msg: Uint8Array,
  q: ParsedQuery,
  s: Sections,
  tail: Uint8Array | null,
  tailCount: number,
  scope: number,
  limit: number,
  edns: EdnsSettings,
): number {
  const rcode = s.rcode;
  // RFC 7871 7.2.1: echo ECS whenever the query carried one; on FORMERR the option was the problem.
  const withEcs = rcode !== Rcode.FORMERR;
  const questionLen = q.hasQuestion ? q.questionEnd - HEADER_SIZE : 0;
  const opt = optSize(q, edns, withEcs, true);
  const base = HEADER_SIZE + questionLen + opt;
  const tailLen = tail === null ? 0 : tail.length;
  const answerLen = s.answer.length + tailLen;
  let anCount = s.anCount + tailCount;
  let nsCount = s.nsCount;
  let arCount = s.arCount;
  let includeAnswer = true;
  let includeAdditional = true;
  let tc = false;
  if (base + answerLen + s.authority.length + s.additional.length > limit) {
    if (!s.additionalRequired && base + answerLen + s.authority.length <= limit) {
      includeAdditional = false; // RFC 2181 9: optional additional data is dropped silently
      arCount = 0;
    } else {
      includeAnswer = false;
      includeAdditional = false;
      tc = true;
      anCount = nsCount = arCount = 0;
    }
  }
  const size =
    base + (includeAnswer ? answerLen + s.authority.length : 0) + (includeAdditional ? s.additional.length : 0);
  let off = writeHeaderAndQuestion(out, o, msg, q, s.aa, tc, rcode, anCount, nsCount, arCount + (opt > 0 ? 1 : 0));
  if (includeAnswer && includeAdditional && tail === null) {
    out.set(s.all, off); // the common case: one copy
    off += s.all.length;
  } else if (includeAnswer) {
    out.set(s.answer, off);
    off += s.answer.length;
    if (tail !== null) {
      out.set(tail, off);
      off += tail.length;
    }
    if (includeAdditional) {
      out.set(s.rest, off);
      off += s.rest.length;
    } else {
      out.set(s.authority, off);
      off += s.authority.length;
    }
  }
  if (opt > 0) writeOpt(out, off, msg, q, edns, rcode, withEcs, true, scope, opt);
  return size;
}

/**
 * The answer to a rate-limited query that slips (RRL): the query's header
 * with QR, AA and TC and `rcode` (NOERROR, or BADCOOKIE when the query had a
 * client cookie), the question, and an OPT record when the query had one,
 * carrying only the COOKIE the cookie check prepared (no ECS, no NSID). A
 * real resolver retries over TCP (or with the fresh cookie, RFC 7873 5.3);
 * without a cookie the answer is never larger than the query (no amplification).
 */
export function writeTruncated(
  out: Uint8Array,
  o: number,
  msg: Uint8Array,
  q: ParsedQuery,
  rcode: number,
  edns: EdnsSettings,
): number {
  const opt = optSize(q, edns, false, false);
  const questionLen = q.hasQuestion ? q.questionEnd - HEADER_SIZE : 0;
  const off = writeHeaderAndQuestion(out, o, msg, q, true, true, rcode, 0, 0, opt > 0 ? 1 : 0);
  if (opt > 0) writeOpt(out, off, msg, q, edns, rcode, false, false, 0, opt);
  return HEADER_SIZE + questionLen + opt;
}

/** Header (ID, QR=1, opcode, AA, TC, RD and CD copied, RA=0, rcode low 4 bits, counts) and the question as sent; returns the offset after it. */
function writeHeaderAndQuestion(
  out: Uint8Array,
  o: number,
  msg: Uint8Array,
  q: ParsedQuery,
  aa: boolean,
  tc: boolean,
  rcode: number,
  an: number,
  ns: number,
  ar: number,
): number {
  out[o] = q.id >> 8;
  out[o + 1] = q.id & 0xff;
  out[o + 2] = 0x80 | ((q.flags >> 8) & 0x79) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0);
  out[o + 3] = (q.flags & 0x10) | (rcode & 0x0f);
  out[o + 4] = 0;
  out[o + 5] = q.hasQuestion ? 1 : 0;
  out[o + 6] = an >> 8;
  out[o + 7] = an & 0xff;
  out[o + 8] = ns >> 8;
  out[o + 9] = ns & 0xff;
  out[o + 10] = ar >> 8;
  out[o + 11] = ar & 0xff;
  let off = o + HEADER_SIZE;
  // The question as the client sent it (case preserved). A plain loop: subarray() would allocate.
  if (q.hasQuestion) for (let i = HEADER_SIZE; i < q.questionEnd; i++) out[off++] = msg[i];
  return off;
}

/**
 * Build a response whose answer section was assembled per query (DNAME
 * synthesis, zone/dname.ts): `answer[0..answerLen)` with `anCount` records,
 * then the authority and additional sections of `rest` (NODATA/NXDOMAIN SOA),
 * or none, into `out` at `o`; returns the length. Same truncation rules and
 * OPT as {@link writeResponse}; SCOPE 0.
 */
export function writeSynthesized(
  out: Uint8Array,
  o: number,
  msg: Uint8Array,
  q: ParsedQuery,
  rcode: number,
  answer: Uint8Array,
  answerLen: number,
  anCount: number,
  rest: Sections | null,
  limit: number,
  edns: EdnsSettings,
): number {
  const opt = optSize(q, edns, true, true);
  const base = q.questionEnd + opt;
  const authority = rest === null ? 0 : rest.authority.length;
  const additional = rest === null ? 0 : rest.additional.length;
  let an = anCount;
  let ns = rest === null ? 0 : rest.nsCount;
  let ar = rest === null ? 0 : rest.arCount;
  let withAnswer = true;
  let withAdditional = true;
  let tc = false;
  if (base + answerLen + authority + additional > limit) {
    withAdditional = false;
    ar = 0;
    if (rest?.additionalRequired || base + answerLen + authority > limit) {
      withAnswer = false;
      tc = true;
      an = ns = 0;
    }
  }
  const size = base + (withAnswer ? answerLen + authority : 0) + (withAdditional ? additional : 0);
  let off = writeHeaderAndQuestion(out, o, msg, q, true, tc, rcode, an, ns, ar + (opt > 0 ? 1 : 0));
  if (withAnswer) {
    for (let i = 0; i < answerLen; i++) out[off++] = answer[i];
    if (rest !== null) {
      out.set(rest.authority, off);
      off += authority;
      if (withAdditional) {
        out.set(rest.additional, off);
        off += additional;
      }
    }
  }
  if (opt > 0) writeOpt(out, off, msg, q, edns, rcode, true, true, 0, opt);
  return size;
}

/** Append our OPT RR (RFC 6891 6.1.2) at `off`. */
function writeOpt(
  out: Uint8Array,
  off: number,
  msg: Uint8Array,
  q: ParsedQuery,
  edns: EdnsSettings,
  rcode: number,
  withEcs: boolean,
  withNsid: boolean,
  scope: number,
  size: number,
): void {
  out[off] = 0; // root owner
  out[off + 1] = 0;
  out[off + 2] = 41;
  out[off + 3] = edns.udpMax >> 8;
  out[off + 4] = edns.udpMax & 0xff;
  out[off + 5] = rcode >> 4; // extended rcode: upper 8 bits of the 12-bit rcode
  out[off + 6] = 0; // version 0
  out[off + 7] = q.dnssecOk ? 0x80 : 0; // RFC 3225: DO is copied
  out[off + 8] = 0;
  const rdlen = size - 11;
  out[off + 9] = rdlen >> 8;
  out[off + 10] = rdlen & 0xff;
  let p = off + 11;
  if (withEcs && q.hasEcs) {
    out[p] = 0;
    out[p + 1] = EdnsOption.ECS;
    out[p + 2] = q.ecsLength >> 8;
    out[p + 3] = q.ecsLength & 0xff;
    for (let i = 0; i < q.ecsLength; i++) out[p + 4 + i] = msg[q.ecsOffset + i];
    out[p + 7] = scope; // FAMILY, SOURCE and ADDRESS echoed as received; SCOPE set
    p += 4 + q.ecsLength;
  }
  if (withNsid && q.nsidRequested && edns.nsid.length > 0) {
    out[p] = 0;
    out[p + 1] = EdnsOption.NSID;
    out[p + 2] = edns.nsid.length >> 8;
    out[p + 3] = edns.nsid.length & 0xff;
    out.set(edns.nsid, p + 4);
    p += 4 + edns.nsid.length;
  }
  const cookieLength = q.responseCookieLength;
  if (cookieLength > 0) {
    // RFC 7873 5.2: the client cookie and our server cookie, in every response to a query that had one.
    out[p] = 0;
    out[p + 1] = EdnsOption.COOKIE;
    out[p + 2] = 0;
    out[p + 3] = cookieLength;
    const c = q.responseCookie;
    for (let i = 0; i < cookieLength; i++) out[p + 4 + i] = c[i];
  }
}
