/**
 * handleQuery: packet in, answer out. The one socket-free entry point for UDP
 * and TCP (DESIGN.md section 2): decode -> validate -> zone lookup -> for a
 * geo record, trie walk on the client's network (ECS, else the source
 * address) -> health-filtered cached answer -> response bytes. Synchronous,
 * no I/O, no logging, no allocation beyond the reply buffer; every failure
 * maps to an rcode or a drop, never an exception to the socket.
 */
import type { QueryCounters } from './counters.js';
import { SCOPE_V6_BASE, scopeHash } from './counters.js';
import { parseSocketAddress } from '../net/ip.js';
import { lookup } from '../policy/trie.js';
import type { Runtime } from '../build/runtime.js';
import { QClass, QType, TCP, UDP_NO_EDNS_MAX, type Transport } from '../wire/constants.js';
import { Outcome, ParsedQuery, parseQuery } from '../wire/query.js';
import { lastResponseSize, writeResponse, writeSynthesized, type Sections } from '../wire/response.js';
import type { Plan } from '../zone/answers.js';
import { DnameSynthesizer } from '../zone/dname.js';
import { findPlan } from '../zone/lookup.js';

const q = new ParsedQuery();
const dname = new DnameSynthesizer();
/** Scratch for the source address when a query has no ECS. */
const clientBytes = new Uint8Array(16);
let sample = 0;

// Where the current query's source address comes from: a socket address
// string (dgram, net) or raw bytes (batched UDP: family 4/6 at addrSource[addrOffset]).
let clientText = '';
let clientFamily = 0;
let addrSource: Uint8Array = clientBytes;
let addrOffset = 0;
// Where the answer goes: a fresh buffer, or a slot of the caller's buffer.
let destBuffer: Buffer | null = null;
let destOffset = 0;

/** Largest response the transport allows for this query (RFC 6891 6.2.5, RFC 1035 4.2.1). */
function sizeLimit(transport: Transport, udpMax: number): number {
  if (transport === TCP) return 65535;
  if (!q.hasOpt) return UDP_NO_EDNS_MAX;
  const requested = q.udpSize < UDP_NO_EDNS_MAX ? UDP_NO_EDNS_MAX : q.udpSize;
  return requested < udpMax ? requested : udpMax;
}

/**
 * Answer one query. `msg[0..len)` is the packet, `client` the source address
 * as the socket reports it. Returns the response, or null to send nothing.
 */
export function handleQuery(
  msg: Buffer,
  len: number,
  client: string,
  transport: Transport,
  rt: Runtime,
  counters: QueryCounters,
): Buffer | null {
  clientText = client;
  clientFamily = 0;
  destBuffer = null;
  return run(msg, len, transport, rt, counters);
}

/**
 * Answer one query into `dest` at `destOff` (batched UDP), the source address
 * given as bytes (`family` 4 or 6, address at `addr[addrOff]`). Returns the
 * answer's length, or 0 to send nothing.
 */
export function handleQueryInto(
  msg: Buffer,
  len: number,
  family: number,
  addr: Uint8Array,
  addrOff: number,
  transport: Transport,
  rt: Runtime,
  counters: QueryCounters,
  dest: Buffer,
  destOff: number,
): number {
  clientFamily = family;
  addrSource = addr;
  addrOffset = addrOff;
  destBuffer = dest;
  destOffset = destOff;
  return run(msg, len, transport, rt, counters) === null ? 0 : lastResponseSize;
}

function run(msg: Buffer, len: number, transport: Transport, rt: Runtime, counters: QueryCounters): Buffer | null {
  const timed = (++sample & 63) === 0;
  const t0 = timed ? performance.now() : 0;
  let out: Buffer | null;
  try {
    out = answer(msg, len, transport, rt, counters);
  } catch {
    counters.internalErrors++;
    out = safeServfail(msg, transport, rt, counters);
  }
  if (timed) counters.observeTiming((performance.now() - t0) / 1000);
  return out;
}

function safeServfail(msg: Buffer, transport: Transport, rt: Runtime, counters: QueryCounters): Buffer | null {
  try {
    if (!q.hasQuestion) return null;
    counters.countQuery(transport, q.qtype, rt.servfail.rcode);
    return writeResponse(
      msg,
      q,
      rt.servfail,
      null,
      0,
      0,
      sizeLimit(transport, rt.edns.udpMax),
      rt.edns,
      destBuffer,
      destOffset,
    );
  } catch {
    counters.dropped[1]++;
    return null;
  }
}

function answer(msg: Buffer, len: number, transport: Transport, rt: Runtime, counters: QueryCounters): Buffer | null {
  const outcome = parseQuery(msg, len, q);
  if (outcome === Outcome.DROP) {
    counters.dropped[0]++;
    return null;
  }
  const limit = sizeLimit(transport, rt.edns.udpMax);
  let sections: Sections;
  if (outcome !== Outcome.OK) {
    sections = outcome === Outcome.FORMERR ? rt.formerr : outcome === Outcome.NOTIMP ? rt.notimp : rt.badvers;
    if (outcome === Outcome.FORMERR) counters.malformed++;
    return respond(msg, transport, sections, null, 0, 0, limit, rt, counters);
  }
  counters.ecs[q.hasEcs ? (q.ecsFamily === 1 ? 1 : 2) : 0]++;
  if (q.qclass !== QClass.IN) {
    const chaos = q.qclass === QClass.CH ? rt.chaos(msg, q) : null;
    return respond(msg, transport, chaos ?? rt.refused, null, 0, 0, limit, rt, counters);
  }
  if (q.qtype === QType.AXFR || q.qtype === QType.IXFR)
    return respond(msg, transport, rt.refused, null, 0, 0, limit, rt, counters);
  const plan = cachedPlan(msg, rt);
  if (plan.dname !== null) return dnameAnswer(msg, transport, plan, limit, rt, counters);
  if (plan.geo === null || (plan.geoViaCname && q.hasEcs)) {
    // RFC 7871 7.2.1: answers that do not depend on the client carry SCOPE 0;
    // a CNAME towards a tailored answer is given alone so it is cached unscoped.
    return respond(msg, transport, plan, null, 0, 0, limit, rt, counters);
  }
  return geoAnswer(msg, transport, plan, limit, rt, counters);
}

// One-entry cache of the last (runtime, qname bytes, qtype) -> plan: floods of
// the same name skip the suffix walk. Exact bytes, so case variants just miss.
const lastName = new Uint8Array(256);
let lastLength = 0;
let lastQtype = -1;
let lastRuntime: Runtime | null = null;
let lastPlan: Plan | null = null;

function cachedPlan(msg: Buffer, rt: Runtime): Plan {
  const len = q.qnameLength;
  if (rt === lastRuntime && q.qtype === lastQtype && len === lastLength) {
    let i = 0;
    while (i < len && msg[12 + i] === lastName[i]) i++;
    if (i === len) return lastPlan!;
  }
  const plan = findPlan(rt.table, msg, q, rt.refused);
  for (let i = 0; i < len; i++) lastName[i] = msg[12 + i];
  lastLength = len;
  lastQtype = q.qtype;
  lastRuntime = rt;
  lastPlan = plan;
  return plan;
}

/** Walk the policy trie with the client's network and answer from the health-filtered cache. */
function geoAnswer(
  msg: Buffer,
  transport: Transport,
  plan: Plan,
  limit: number,
  rt: Runtime,
  counters: QueryCounters,
): Buffer | null {
  const slot = plan.geo!;
  const record = rt.records[slot.record];
  let addr: Uint8Array = msg;
  let off = q.ecsOffset + 4;
  let alen = q.ecsLength - 4;
  let family = q.ecsFamily;
  let scopeBase = 0;
  if (!q.hasEcs || q.ecsSource === 0) {
    // No ECS, or SOURCE PREFIX-LENGTH 0 (the client opted out, RFC 7871 7.1.2):
    // tailor to the resolver's own address; the scope echoed is 0.
    if (clientFamily === 0) {
      family = parseSocketAddress(clientText, clientBytes) === 6 ? 2 : 1;
      addr = clientBytes;
      off = 0;
    } else {
      family = clientFamily === 6 ? 2 : 1;
      addr = addrSource;
      off = addrOffset;
    }
    alen = family === 1 ? 4 : 16;
  } else if (family === 2 && q.ecsSource >= 96 && isV4Mapped(msg, off)) {
    // ::ffff:a.b.c.d/n is an IPv4 client: look it up as a.b.c.d/(n-96).
    family = 1;
    off += 12;
    alen -= 12;
    scopeBase = 96;
  }
  const packed = lookup(family === 1 ? record.policy.v4 : record.policy.v6, addr, off, alen);
  const decision = packed >>> 8;
  const depth = packed & 0xff;
  const ans = rt.geo.get(slot, decision, rt.health);
  const scope = q.hasEcs && q.ecsSource > 0 ? scopeBase + depth : 0;
  if (ans.count === 0) return respond(msg, transport, plan.empty!, null, 0, scope, limit, rt, counters);
  rt.popAnswers[slot.record * rt.snapshot.pops.length + ans.pop]++;
  if (ans.failOpen) counters.failOpen++;
  else if (ans.degraded) counters.degraded++;
  if (q.hasEcs) {
    // Counted by the family on the wire: an IPv4-mapped subnet is an IPv6 option with scope 96 + n.
    counters.scopes[(q.ecsFamily === 1 ? 0 : SCOPE_V6_BASE) + scope]++;
    if (q.ecsSource > 0) rt.sketches.add(slot.record, scopeHash(family, addr, off, alen, depth));
  }
  return respond(msg, transport, plan, ans.bytes, ans.count, scope, limit, rt, counters);
}

/** The qname is below a DNAME: substitute and answer (RFC 6672 3.2; zone/dname.ts). */
function dnameAnswer(
  msg: Buffer,
  transport: Transport,
  plan: Plan,
  limit: number,
  rt: Runtime,
  counters: QueryCounters,
): Buffer {
  dname.run(msg, q, plan, rt.table, rt.refused);
  const out = writeSynthesized(
    msg,
    q,
    dname.rcode,
    dname.answer,
    dname.answerLength,
    dname.anCount,
    dname.rest,
    limit,
    rt.edns,
    destBuffer,
    destOffset,
  );
  if ((out[(destBuffer === null ? 0 : destOffset) + 2] & 0x02) !== 0) counters.truncated++;
  counters.countQuery(transport, q.qtype, dname.rcode);
  return out;
}

function isV4Mapped(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}

function respond(
  msg: Buffer,
  transport: Transport,
  s: Sections,
  tail: Uint8Array | null,
  tailCount: number,
  scope: number,
  limit: number,
  rt: Runtime,
  counters: QueryCounters,
): Buffer {
  const out = writeResponse(msg, q, s, tail, tailCount, scope, limit, rt.edns, destBuffer, destOffset);
  if ((out[(destBuffer === null ? 0 : destOffset) + 2] & 0x02) !== 0) counters.truncated++;
  counters.countQuery(transport, q.qtype, s.rcode);
  return out;
}
