/**
 * handleQuery: packet in, answer out. The one socket-free entry point for UDP
 * (batched or node:dgram) and TCP: decode -> DNS Cookies (RFC 7873) ->
 * validate -> zone lookup -> response rate limiting (UDP, once the response
 * class is known) -> for a geo record, the client's network (ecs/subnet.ts:
 * ECS, else the source address) -> trie walk -> health-filtered cached
 * answer -> response bytes, written into the listener's output buffer.
 *
 * Synchronous, no I/O, no logging, no allocation, and no state of its own:
 * everything that lives between packets is in the listener's QueryContext,
 * so two listeners (or explain beside a serving socket) cannot see each
 * other's queries. Every failure maps to an rcode or a drop, never an
 * exception to the socket.
 */
import type { Runtime } from '../build/runtime.js';
import { CookieAction, CookieResult, type ServerCookies } from '../cookie/evaluate.js';
import { effectiveSubnet } from '../ecs/subnet.js';
import { lookup } from '../policy/trie.js';
import { RrlAction, ResponseKind, type ResponseKindCode, type RrlActionCode } from '../rrl/kinds.js';
import { QClass, QType, Rcode, TCP, UDP, UDP_NO_EDNS_MAX } from '../wire/constants.js';
import { Outcome, type OutcomeCode, parseQuery } from '../wire/query.js';
import { type Sections, writeResponse, writeSynthesized, writeTruncated } from '../wire/response.js';
import type { Plan } from '../zone/answers.js';
import type { LookupTrace } from '../zone/lookup.js';
import { findPlan } from '../zone/lookup.js';
import type { QueryContext } from './context.js';
import { scopeHash } from '../util/hll.js';
import { SCOPE_V6_BASE } from './counters.js';

/** The TC bit in the third header byte. */
const TC = 0x02;
/** RFC 9824's NXNAME meta-type. */
const NXNAME = 128;

/**
 * Answer the query `msg[0..len)` from `ctx.source`. The response is written
 * into `ctx.out` at `ctx.outOffset`; returns its length, or 0 to send nothing.
 */
export function handleQuery(ctx: QueryContext, msg: Buffer, len: number): number {
  const timed = (++ctx.sample & 63) === 0;
  const t0 = timed ? performance.now() : 0;
  const rt = ctx.plane.runtime;
  let n: number;
  try {
    n = answer(ctx, rt, msg, len);
  } catch {
    ctx.counters.internalErrors++;
    n = safeServfail(ctx, rt, msg);
  }
  if (timed) ctx.counters.observeTiming((performance.now() - t0) / 1000);
  return n;
}

/** Largest response the transport allows for this query (RFC 6891 6.2.5, RFC 1035 4.2.1). */
function sizeLimit(ctx: QueryContext, udpMax: number): number {
  if (ctx.transport === TCP) return 65535;
  const q = ctx.q;
  if (!q.hasOpt) return UDP_NO_EDNS_MAX;
  const requested = q.udpSize < UDP_NO_EDNS_MAX ? UDP_NO_EDNS_MAX : q.udpSize;
  return requested < udpMax ? requested : udpMax;
}

function safeServfail(ctx: QueryContext, rt: Runtime, msg: Buffer): number {
  try {
    if (!ctx.q.hasQuestion) return 0;
    return respond(ctx, rt, msg, rt.servfail, null, 0, 0, sizeLimit(ctx, rt.edns.udpMax));
  } catch {
    ctx.counters.dropped[1]++;
    return 0;
  }
}

function answer(ctx: QueryContext, rt: Runtime, msg: Buffer, len: number): number {
  const q = ctx.q;
  const counters = ctx.counters;
  const outcome = parseQuery(msg, len, q);
  if (outcome === Outcome.DROP) {
    counters.dropped[0]++;
    return 0;
  }
  const guards = ctx.plane.guards;
  const cookies = guards === undefined ? null : guards.cookies;
  if (cookies !== null) checkCookie(ctx, cookies, msg);
  else {
    // Cookies off: the option is ignored like any unknown one (RFC 6891 6.1.2).
    ctx.cookie.result = CookieResult.NONE;
    ctx.cookie.action = CookieAction.PROCESS;
  }
  // Rate limiting applies to UDP only (TCP proves the source), never to a proven source (valid cookie).
  let rrl = guards === undefined || ctx.transport !== UDP ? null : guards.rrl;
  if (rrl !== null && ctx.cookie.result === CookieResult.VALID) {
    rrl.countCookieExempt();
    rrl = null;
  }
  ctx.rrl = rrl;
  const limit = sizeLimit(ctx, rt.edns.udpMax);
  const cookieAction = ctx.cookie.action;
  if (outcome !== Outcome.OK || cookieAction !== CookieAction.PROCESS)
    return notAnswerable(ctx, rt, msg, outcome, cookieAction, limit);
  counters.ecs[q.hasEcs ? (q.ecsFamily === 1 ? 1 : 2) : 0]++;
  if (q.qclass !== QClass.IN) {
    const chaos = q.qclass === QClass.CH ? rt.chaos(msg, q) : null;
    return respondClass(ctx, rt, msg, chaos ?? rt.refused, limit);
  }
  if (q.qtype === QType.AXFR || q.qtype === QType.IXFR) return respondClass(ctx, rt, msg, rt.refused, limit);
  let plan = cachedPlan(ctx, rt, msg);
  if (q.qtype === NXNAME && (plan.signed !== null || plan.perName !== null)) {
    // RFC 9824 3.5: NXNAME is a meta-type of signed answers; asked for in a signed zone, FORMERR.
    counters.malformed++;
    return respondClass(ctx, rt, msg, rt.formerr, limit);
  }
  // The response class is known (RRL, BIND's response types): decide before any per-query work.
  // A signed answer is classed as its unsigned plan: an RFC 9824 denial (NOERROR, NXNAME) is NXDOMAIN.
  if (rrl !== null) {
    const action = rateLimit(ctx, ctx.cachedKind, ctx.cachedHash, msg, ctx.cachedOffset);
    if (action !== RrlAction.PASS) return limitedAnswer(ctx, rt, msg, action);
  }
  if (q.dnssecOk) {
    // DNSSEC (RFC 4035 3.1): the DO=1 variant, signed at build or, per query name, cached by the runtime.
    if (plan.signed !== null) plan = plan.signed;
    else if (plan.perName !== null) {
      const s = plan.perName.sections(msg, q, ctx.transport !== TCP);
      // Past the zone's signing budget a UDP query gets TC=1: a resolver retries over TCP, a spoofed flood gets nothing signed.
      if (s === null) return budgetSpent(ctx, rt, msg);
      return respond(ctx, rt, msg, s, null, 0, 0, limit);
    }
  }
  if (plan.dname !== null) return dnameAnswer(ctx, rt, msg, plan, limit);
  if (plan.geo === null || (plan.geoViaCname && q.hasEcs)) {
    // RFC 7871 7.2.1: answers that do not depend on the client carry SCOPE 0;
    // a CNAME towards a tailored answer is given alone so it is cached unscoped.
    return respond(ctx, rt, msg, plan, null, 0, 0, limit);
  }
  return geoAnswer(ctx, rt, msg, plan, limit);
}

/**
 * Judge the COOKIE option (RFC 7873 5.2, cookie/evaluate.ts) into ctx.cookie;
 * the response's COOKIE data goes into the parsed query, which the writer echoes.
 */
function checkCookie(ctx: QueryContext, cookies: ServerCookies, msg: Buffer): void {
  const q = ctx.q;
  const src = ctx.source;
  // The source address is only read when there is a cookie to bind to it.
  if (q.cookieOffset >= 0) src.resolve();
  const v = ctx.cookie;
  cookies.evaluate(
    msg,
    q.cookieOffset,
    q.cookieLength,
    src.family,
    src.bytes,
    src.offset,
    ctx.nowSec,
    ctx.transport === UDP,
    q.hasQuestion,
    q.responseCookie,
    0,
    v,
  );
  q.responseCookieLength = v.responseLength;
}

/**
 * Everything answered without a lookup: malformed queries (FORMERR, also for a
 * malformed COOKIE), NOTIMP, BADVERS, BADCOOKIE, and questionless cookie
 * requests (RFC 7873 5.4: NOERROR with the cookie; FORMERR when cookies are off).
 */
function notAnswerable(
  ctx: QueryContext,
  rt: Runtime,
  msg: Buffer,
  outcome: OutcomeCode,
  cookie: number,
  limit: number,
): number {
  let s: Sections;
  if (outcome === Outcome.NOTIMP) s = rt.notimp;
  else if (outcome === Outcome.BADVERS) s = rt.badvers;
  else if (outcome === Outcome.FORMERR || cookie === CookieAction.FORMERR) s = rt.formerr;
  else if (cookie === CookieAction.BADCOOKIE) s = rt.badcookie;
  else if (outcome === Outcome.NO_QUESTION && cookie === CookieAction.COOKIE_ONLY) s = rt.cookieOnly;
  else s = rt.formerr; // a questionless query without a cookie verdict: cookies are off
  if (s === rt.formerr) ctx.counters.malformed++;
  return respondClass(ctx, rt, msg, s, limit);
}

/** An answer of the error class (one RRL bucket per client network), rate limited like any other. */
function respondClass(ctx: QueryContext, rt: Runtime, msg: Buffer, s: Sections, limit: number): number {
  if (ctx.rrl !== null) {
    const action = rateLimit(ctx, ResponseKind.ERROR, 0, msg, 12);
    if (action !== RrlAction.PASS) return limitedAnswer(ctx, rt, msg, action);
  }
  return respond(ctx, rt, msg, s, null, 0, 0, limit);
}

/** The limiter's verdict for this response (ctx.rrl is set: UDP, RRL on, no valid cookie). */
function rateLimit(
  ctx: QueryContext,
  kind: ResponseKindCode,
  hash: number,
  msg: Buffer,
  nameOff: number,
): RrlActionCode {
  const src = ctx.source;
  src.resolve();
  // The key is the packet's source (the resolver), never the ECS subnet.
  return ctx.rrl!.checkHashed(ctx.nowMs, src.family, src.bytes, src.offset, kind, ctx.q.qtype, hash, msg, nameOff);
}

/**
 * A limited response: nothing, or (slip) a truncated answer so a real client
 * behind the same network retries over TCP; when the query had a client
 * cookie, BADCOOKIE with a fresh server cookie instead (as BIND does): the
 * client retries with it and is then exempt.
 */
function limitedAnswer(ctx: QueryContext, rt: Runtime, msg: Buffer, action: RrlActionCode): number {
  if (action === RrlAction.DROP) return 0;
  const q = ctx.q;
  const rcode = q.responseCookieLength > 0 ? Rcode.BADCOOKIE : Rcode.NOERROR;
  const n = writeTruncated(ctx.out, ctx.outOffset, msg, q, rcode, rt.edns);
  ctx.counters.countQuery(ctx.transport, q.qtype, rcode);
  return n;
}

/** The plan for the query's name and type; the last one is kept (exact bytes: case variants just miss). */
function cachedPlan(ctx: QueryContext, rt: Runtime, msg: Buffer): Plan {
  const q = ctx.q;
  const len = q.qnameLength;
  const name = ctx.cachedName;
  if (rt === ctx.cachedRuntime && q.qtype === ctx.cachedQtype && len === ctx.cachedLength) {
    let i = 0;
    while (i < len && msg[12 + i] === name[i]) i++;
    if (i === len) return ctx.cachedPlan!;
  }
  const trace = ctx.trace;
  const plan = findPlan(rt.table, msg, q, rt.refused, trace);
  for (let i = 0; i < len; i++) name[i] = msg[12 + i];
  ctx.cachedLength = len;
  ctx.cachedQtype = q.qtype;
  ctx.cachedRuntime = rt;
  ctx.cachedPlan = plan;
  ctx.cachedKind = responseKind(plan, trace);
  ctx.cachedHash = trace.hash;
  ctx.cachedOffset = trace.offset;
  return plan;
}

/**
 * The RRL class of a plan (rrl/kinds.ts): NXDOMAIN keyed on the zone,
 * referrals on the delegation, answers and NODATA synthesised from a wildcard
 * on the closest encloser, other answers on the qname; refusals are errors.
 */
function responseKind(plan: Plan, trace: LookupTrace): ResponseKindCode {
  switch (plan.kind) {
    case 'nxdomain':
      return ResponseKind.NXDOMAIN;
    case 'referral':
      return ResponseKind.REFERRAL;
    case 'nodata':
      return ResponseKind.NODATA;
    case 'refused':
      return ResponseKind.ERROR;
    default:
      return trace.wildcard ? ResponseKind.WILDCARD : ResponseKind.ANSWER;
  }
}

/** Walk the policy trie with the client's network and answer from the health-filtered cache. */
function geoAnswer(ctx: QueryContext, rt: Runtime, msg: Buffer, plan: Plan, limit: number): number {
  const q = ctx.q;
  const counters = ctx.counters;
  const slot = plan.geo!;
  const net = ctx.subnet;
  effectiveSubnet(net, msg, q, ctx.source);
  const v4 = net.family === 4;
  // One read of the health reference: the answer, its scope and its counters come from the same
  // health state. The trie is merged by the answer given under that view, or the compiled one.
  const health = rt.health;
  const packed = lookup(health.tries[(slot.id << 1) | (v4 ? 0 : 1)], net.bytes, net.offset, net.byteLength);
  const decision = packed >>> 8;
  const depth = packed & 0xff;
  const ans = rt.geo.get(slot, decision, health.view);
  const scope = net.fromOption ? net.scopeBase + depth : 0;
  if (ans.count === 0) return respond(ctx, rt, msg, plan.empty!, null, 0, scope, limit);
  rt.popAnswers[slot.record * rt.snapshot.pops.length + ans.pop]++;
  let tail = ans.bytes;
  let tailCount = ans.count;
  if (plan.isSigned && rt.dnssec !== null) {
    // The set's RRSIGs: memoised on the answer, else from the runtime's cache by RRset (build/answer-signing.ts).
    const signed = rt.dnssec.perNameGeo(slot)
      ? rt.dnssec.wildcardGeoTail(slot, ans, msg, q)
      : rt.dnssec.geoTail(slot, ans, decision);
    tail = signed.bytes;
    tailCount = signed.count;
  }
  if (ans.failOpen) counters.failOpen++;
  else if (ans.degraded) counters.degraded++;
  if (q.hasEcs) {
    // Counted by the family on the wire: an IPv4-mapped subnet is an IPv6 option with scope 96 + n.
    counters.scopes[(q.ecsFamily === 1 ? 0 : SCOPE_V6_BASE) + scope]++;
    if (net.fromOption)
      rt.sketches.add(slot.record, scopeHash(v4 ? 1 : 2, net.bytes, net.offset, net.byteLength, depth));
  }
  return respond(ctx, rt, msg, plan, tail, tailCount, scope, limit);
}

/** The qname is below a DNAME: substitute and answer (RFC 6672 3.2; zone/dname.ts). */
function dnameAnswer(ctx: QueryContext, rt: Runtime, msg: Buffer, plan: Plan, limit: number): number {
  const q = ctx.q;
  const d = ctx.dname;
  d.run(msg, q, plan, rt.table, rt.refused, q.dnssecOk, ctx.transport !== TCP);
  if (d.deferred) return budgetSpent(ctx, rt, msg);
  const out = ctx.out;
  const o = ctx.outOffset;
  const n = writeSynthesized(out, o, msg, q, d.rcode, d.answer, d.answerLength, d.anCount, d.rest, limit, rt.edns);
  if ((out[o + 2] & TC) !== 0) ctx.counters.truncated++;
  ctx.counters.countQuery(ctx.transport, q.qtype, d.rcode);
  return n;
}

/** An empty answer with TC=1: the zone's signing budget is spent (the client retries over TCP, always signed). */
function budgetSpent(ctx: QueryContext, rt: Runtime, msg: Buffer): number {
  const q = ctx.q;
  const n = writeTruncated(ctx.out, ctx.outOffset, msg, q, Rcode.NOERROR, rt.edns);
  ctx.counters.truncated++;
  ctx.counters.countQuery(ctx.transport, q.qtype, Rcode.NOERROR);
  return n;
}

function respond(
  ctx: QueryContext,
  rt: Runtime,
  msg: Buffer,
  s: Sections,
  tail: Uint8Array | null,
  tailCount: number,
  scope: number,
  limit: number,
): number {
  const out = ctx.out;
  const o = ctx.outOffset;
  const n = writeResponse(out, o, msg, ctx.q, s, tail, tailCount, scope, limit, rt.edns);
  if ((out[o + 2] & TC) !== 0) ctx.counters.truncated++;
  ctx.counters.countQuery(ctx.transport, ctx.q.qtype, s.rcode);
  return n;
}
