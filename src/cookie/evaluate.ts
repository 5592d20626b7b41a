/**
 * The server side of DNS Cookies (RFC 7873 section 5.2, server cookies per
 * RFC 9018): classify the COOKIE option of a query, decide what to do with
 * the query, and write the COOKIE option data for the response. Pure over
 * byte ranges of the packet; nothing allocated per query.
 *
 * Decision table (`require` is the policy knob, off by default as in BIND;
 * TCP proves the source by itself, RFC 7873 5.2.3 "SHOULD choose (3)"):
 *
 *   query carries                  UDP            UDP + require   TCP      response COOKIE
 *   no COOKIE option (5.2.1)       process        process         process  none
 *   malformed length (5.2.2)       FORMERR        FORMERR         FORMERR  none
 *   client cookie only (5.2.3)     process        BADCOOKIE       process  client | fresh server cookie
 *   invalid server cookie (5.2.4)  process        BADCOOKIE       process  client | fresh server cookie
 *   valid server cookie (5.2.5)    process        process         process  client | same or fresh cookie
 *
 * "Invalid" is a server cookie of another length or version, one older than
 * an hour or more than 5 minutes ahead (RFC 9018 4.3), or a wrong hash under
 * both the current and the previous secret. A valid cookie is echoed unless
 * it is older than half an hour or was made with the previous secret, when a
 * fresh one is made (RFC 9018 4.3, 5). Only a valid cookie proves the source
 * address: it is what exempts a query from rate limiting.
 *
 * A query without a question (QDCOUNT 0) is a request for a cookie (RFC 7873
 * 5.4): answered NOERROR with the cookie when the query had a client cookie
 * only or a valid server cookie, BADCOOKIE when its server cookie is invalid.
 */
import { isV4MappedAt } from '../net/ip.js';
import { CLIENT_COOKIE_LENGTH, CookieSigner, SERVER_COOKIE_LENGTH, SERVER_COOKIE_VERSION } from './server-cookie.js';

/** What the query carried. */
export const CookieResult = {
  NONE: 0,
  CLIENT_ONLY: 1,
  VALID: 2,
  INVALID: 3,
  MALFORMED: 4,
} as const;
export type CookieResultCode = (typeof CookieResult)[keyof typeof CookieResult];
/** Metric label values, index = CookieResult. */
export const COOKIE_RESULT_NAMES = ['none', 'client-only', 'valid', 'invalid', 'malformed'] as const;

/** Why a server cookie was not valid (tests, logs). */
export const CookieInvalid = {
  NONE: 0,
  /** Not 16 bytes, or not version 1: not an RFC 9018 cookie (or not ours). */
  UNKNOWN_FORMAT: 1,
  /** Timestamp more than an hour in the past. */
  EXPIRED: 2,
  /** Timestamp more than 5 minutes in the future. */
  FUTURE: 3,
  /** The hash matches neither the current nor the previous secret. */
  BAD_HASH: 4,
} as const;
export type CookieInvalidCode = (typeof CookieInvalid)[keyof typeof CookieInvalid];

/** What to do with the query. */
export const CookieAction = {
  /** Answer it as usual (with the response COOKIE option, if any). */
  PROCESS: 0,
  /** FORMERR, no COOKIE option. */
  FORMERR: 1,
  /** Answer BADCOOKIE (extended RCODE 23) with the fresh COOKIE option, no answer records. */
  BADCOOKIE: 2,
  /** A questionless cookie request: NOERROR, empty sections, the COOKIE option. */
  COOKIE_ONLY: 3,
} as const;
export type CookieActionCode = (typeof CookieAction)[keyof typeof CookieAction];

/** Extended RCODE BADCOOKIE (RFC 7873 8): 23, i.e. 7 in the header and 1 in the OPT TTL's top byte. */
export const RCODE_BADCOOKIE = 23;
/** COOKIE option data in a response: client cookie + RFC 9018 server cookie. */
export const RESPONSE_COOKIE_LENGTH = CLIENT_COOKIE_LENGTH + SERVER_COOKIE_LENGTH;

/** Seconds: a cookie older than this is invalid, newer than `-FUTURE_SECONDS` too (RFC 9018 4.3). */
const MAX_AGE_SECONDS = 3600;
const FUTURE_SECONDS = 300;
/** A valid cookie older than this is replaced by a fresh one (RFC 9018 4.3). */
const REISSUE_AFTER_SECONDS = 1800;

/** checkServerCookie's answers for a valid cookie, beside the CookieInvalid reasons. */
const VALID_CURRENT = -1;
const VALID_PREVIOUS = -2;

/** The outcome of one evaluation; one instance reused per listener. */
export class CookieVerdict {
  result: CookieResultCode = CookieResult.NONE;
  action: CookieActionCode = CookieAction.PROCESS;
  invalid: CookieInvalidCode = CookieInvalid.NONE;
  /** Bytes of COOKIE option data written for the response (24), or 0: no COOKIE option in the response. */
  responseLength = 0;

  /** The source address is proven (valid server cookie): exempt from rate limiting. */
  get verified(): boolean {
    return this.result === CookieResult.VALID;
  }
}

export interface CookiePolicy {
  /** The current secret (16 bytes). */
  secret: Uint8Array;
  /**
   * A second secret still accepted but never used to make cookies (RFC 9018 5): the one before
   * the last rotation, or, while a fleet rotates, the next one. Null when none.
   */
  previousSecret?: Uint8Array | null;
  /** Answer BADCOOKIE to UDP queries from cookie-aware clients without a valid server cookie. */
  require?: boolean;
}

/** Indexes into ServerCookies.stats after the five results. */
export const CookieStat = { REISSUED: 5, ECHOED: 6, BADCOOKIE_SENT: 7 } as const;
export const COOKIE_STAT_COUNT = 8;

export class ServerCookies {
  readonly require: boolean;
  /** Totals since construction: [results by CookieResult..., reissued, echoed, BADCOOKIE sent]. */
  readonly stats = new Float64Array(COOKIE_STAT_COUNT);
  private readonly current: CookieSigner;
  private readonly previous: CookieSigner | null;

  constructor(policy: CookiePolicy) {
    this.current = new CookieSigner(policy.secret);
    this.previous = policy.previousSecret ? new CookieSigner(policy.previousSecret) : null;
    this.require = policy.require ?? false;
  }

  /**
   * Evaluate the COOKIE option whose data is `msg[optOff..optOff+optLen)` (`optOff` < 0:
   * the query has none) for a query from `addr` (`family` 4 or 6, IPv4-mapped IPv6 taken
   * as IPv4) at `nowSec` (Unix seconds), received over UDP or not, with or without a
   * question. The verdict goes to `v`; the response's COOKIE option data to `out[outOff..]`.
   */
  evaluate(
    msg: Uint8Array,
    optOff: number,
    optLen: number,
    family: number,
    addr: Uint8Array,
    addrOff: number,
    nowSec: number,
    overUdp: boolean,
    hasQuestion: boolean,
    out: Uint8Array,
    outOff: number,
    v: CookieVerdict,
  ): void {
    v.invalid = CookieInvalid.NONE;
    v.responseLength = 0;
    if (optOff < 0) {
      this.settle(v, CookieResult.NONE, CookieAction.PROCESS);
      return;
    }
    // RFC 7873 5.2.2: a client cookie is 8 bytes, a server cookie 8 to 32.
    if (optLen !== CLIENT_COOKIE_LENGTH && (optLen < 16 || optLen > 40)) {
      this.settle(v, CookieResult.MALFORMED, CookieAction.FORMERR);
      return;
    }
    if (family === 6 && isV4MappedAt(addr, addrOff)) {
      family = 4;
      addrOff += 12;
    }
    const now = nowSec >>> 0;
    let result: CookieResultCode = CookieResult.CLIENT_ONLY;
    let echo = false;
    if (optLen !== CLIENT_COOKIE_LENGTH) {
      const check = this.checkServerCookie(msg, optOff, optLen, family, addr, addrOff, now);
      if (check === VALID_CURRENT || check === VALID_PREVIOUS) {
        result = CookieResult.VALID;
        // Echoed while young and made with the current secret; otherwise replaced (RFC 9018 4.3, 5).
        echo = check === VALID_CURRENT && ageOf(msg, optOff, now) <= REISSUE_AFTER_SECONDS;
      } else {
        result = CookieResult.INVALID;
        v.invalid = check as CookieInvalidCode;
      }
    }

    let action: CookieActionCode;
    if (!hasQuestion) action = result === CookieResult.INVALID ? CookieAction.BADCOOKIE : CookieAction.COOKIE_ONLY;
    else if (result !== CookieResult.VALID && this.require && overUdp) action = CookieAction.BADCOOKIE;
    else action = CookieAction.PROCESS;

    // The response carries the client cookie and a server cookie (RFC 7873 5.2.3-5.2.5).
    for (let i = 0; i < CLIENT_COOKIE_LENGTH; i++) out[outOff + i] = msg[optOff + i];
    if (echo) {
      for (let i = 0; i < SERVER_COOKIE_LENGTH; i++) out[outOff + 8 + i] = msg[optOff + 8 + i];
      this.stats[CookieStat.ECHOED]++;
    } else {
      this.current.make(msg, optOff, family, addr, addrOff, now, out, outOff + 8);
      this.stats[CookieStat.REISSUED]++;
    }
    v.responseLength = RESPONSE_COOKIE_LENGTH;
    if (action === CookieAction.BADCOOKIE) this.stats[CookieStat.BADCOOKIE_SENT]++;
    this.settle(v, result, action);
  }

  /** Why the server cookie in the option is invalid, or VALID_CURRENT / VALID_PREVIOUS: the secret that made it. */
  private checkServerCookie(
    msg: Uint8Array,
    optOff: number,
    optLen: number,
    family: number,
    addr: Uint8Array,
    addrOff: number,
    now: number,
  ): number {
    if (optLen !== RESPONSE_COOKIE_LENGTH || msg[optOff + 8] !== SERVER_COOKIE_VERSION)
      return CookieInvalid.UNKNOWN_FORMAT;
    const age = ageOf(msg, optOff, now);
    if (age > MAX_AGE_SECONDS) return CookieInvalid.EXPIRED;
    if (age < -FUTURE_SECONDS) return CookieInvalid.FUTURE;
    if (this.current.verify(msg, optOff, family, addr, addrOff)) return VALID_CURRENT;
    if (this.previous?.verify(msg, optOff, family, addr, addrOff)) return VALID_PREVIOUS;
    return CookieInvalid.BAD_HASH;
  }

  private settle(v: CookieVerdict, result: CookieResultCode, action: CookieActionCode): void {
    v.result = result;
    v.action = action;
    this.stats[result]++;
  }
}

/** Seconds since the server cookie's timestamp, in serial number arithmetic (RFC 1982, RFC 9018 4.3). */
function ageOf(msg: Uint8Array, optOff: number, now: number): number {
  const p = optOff + 12;
  const ts = ((msg[p] << 24) | (msg[p + 1] << 16) | (msg[p + 2] << 8) | msg[p + 3]) >>> 0;
  return (now - ts) | 0;
}
