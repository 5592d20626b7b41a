/**
 * Explain one decision: what the server answers a name/type for a client
 * address or subnet, and why. The answer part runs the real query path
 * (handleQuery on a synthesised ECS query), so explain can never disagree with
 * the server; the "why" part re-ranks the client with details (location,
 * matched step, candidates with distances and RTTs, spill) from the same rule
 * tables the compiler used, and checks it lands on the trie's decision. Beside
 * the scope returned it gives the scope of the answer given now and the scope
 * of the full failover ranking, and the network that shows why they differ
 * (scope-reason.ts).
 */
import dnsPacket from 'dns-packet';
import { QueryContext } from '../query/context.js';
import { QueryCounters } from '../query/counters.js';
import { handleQuery } from '../query/handle-query.js';
import { formatIp, parsePrefix, type Prefix } from '../net/ip.js';
import type { GeoSlot } from '../zone/answers.js';
import { effectivePrefix } from '../ecs/subnet.js';
import { type ClientLocator, decide } from '../policy/client-facts.js';
import { specialRange } from '../policy/special-ranges.js';
import type { LatencyRows, RttSource } from '../policy/rank.js';
import type { RuleTables } from '../policy/rules.js';
import { lookup } from '../policy/trie.js';
import { explainScopes } from './scope-reason.js';
import type { Runtime } from '../build/runtime.js';
import { RCODE_NAMES, TCP } from '../wire/constants.js';
import { encodeEcs } from '../ecs/parse.js';
import { findPlan } from '../zone/lookup.js';

export interface ExplainCandidate {
  pop: string;
  distanceKm: number | null;
  rttMs: number | null;
  rttSource: RttSource;
  /** Latency step: tolerance group (PoPs in one group count as equal). */
  group: number;
  serving: boolean;
}

export interface ExplainResult {
  name: string;
  type: string;
  client: string;
  rcode: string;
  answers: string[];
  ttl: number | null;
  /** ECS SCOPE PREFIX-LENGTH the server returned. */
  scope: number;
  /** Geo record answering, or null for a static answer. */
  record: string | null;
  /** Set when the client lies in a private, reserved or documentation range (no database places it). */
  special?: { range: string; what: string };
  pop: string | null;
  policy?: string;
  location?: {
    country: string | null;
    continent: string | null;
    subdivision: string | null;
    city: string | null;
    lat: number | null;
    lon: number | null;
  };
  asn?: number | null;
  network?: { prefix: string; database: string; raw: unknown } | null;
  step?: { index: number; kind: string; matched: string };
  candidates?: ExplainCandidate[];
  /** The decision (ranking after spill) the trie holds for this client. */
  decision?: string[];
  spilled?: boolean;
  degraded?: boolean;
  failOpen?: boolean;
  /** True when re-ranking reproduces the trie's decision (it always should). */
  consistent?: boolean;
  /** ECS scopes: of the answer given now and of the full ranking, which one `scope` is, and why they differ. */
  scopes?: ExplainScopes;
}

export interface ExplainScopes {
  /** The widest prefix around the client in which every address gets this answer under the current health. */
  current: number;
  /** The scope of the client's full failover ranking (the compiled decision's leaf). */
  fullRanking: number;
  /**
   * Which of the two the server returns (`scope`): current, or full_ranking
   * (the record is configured `scopes: full_ranking`, or the merge for this
   * health state is still running).
   */
  returned: 'current' | 'full_ranking';
  /** Why the two differ, or why the scope is no wider. */
  reason: string;
  /** The network the reason names: its ranking and its answer now. */
  neighbour?: { network: string; decision: string[]; answer: string[] };
  /** True when `scope` is the figure `returned` names (it always should be). */
  agrees: boolean;
}

/** What explain needs besides the runtime: rule tables and open databases for the same snapshot. */
export interface ExplainContext {
  runtime: Runtime;
  tables: Map<string, RuleTables>;
  locator: ClientLocator;
  latency: LatencyRows | null;
}

function buildQuery(name: string, type: string, client: Prefix): Buffer {
  const ecs = encodeEcs({
    family: client.family === 4 ? 1 : 2,
    sourcePrefix: client.length,
    scopePrefix: 0,
    address: client.bytes,
  });
  return dnsPacket.encode({
    type: 'query',
    id: 1,
    flags: 0,
    questions: [{ type: type as dnsPacket.RecordType, name, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 4096,
        flags: 0,
        options: [{ code: 8, data: Buffer.from(ecs) }],
      } as dnsPacket.Answer,
    ],
  });
}

/**
 * Explain `name`/`type` for a client address or subnet. `source` stands for the
 * packet's source address: it is what a SOURCE PREFIX-LENGTH 0 query is answered for.
 */
export function explain(
  ctx: ExplainContext,
  name: string,
  type: string,
  clientText: string,
  source = '127.0.0.1',
): ExplainResult {
  const rt = ctx.runtime;
  const client = parsePrefix(clientText);
  const query = buildQuery(name, type.toUpperCase(), client);
  // The real query path, over a context of its own (as TCP: no size limit hides an answer).
  const run = new QueryContext({ runtime: rt }, new QueryCounters(), TCP);
  run.source.setText(source);
  const n = handleQuery(run, query, query.length);
  const decoded = n > 0 ? dnsPacket.decode(run.out.subarray(0, n)) : null;
  const answers = (decoded?.answers ?? [])
    .filter((a) => a.type === type.toUpperCase())
    .map((a) => String((a as { data: unknown }).data));
  const opt = decoded?.additionals?.find((a) => a.type === 'OPT') as
    | { options?: Array<{ code: number; scopePrefixLength?: number }> }
    | undefined;
  const scope = opt?.options?.find((o) => o.code === 8)?.scopePrefixLength ?? 0;
  const result: ExplainResult = {
    name,
    type: type.toUpperCase(),
    client: `${formatIp(client.family, client.bytes)}/${client.length}`,
    rcode: decoded ? (RCODE_NAMES[(decoded.flags ?? 0) & 0xf] ?? String((decoded.flags ?? 0) & 0xf)) : 'none',
    answers,
    ttl: (decoded?.answers?.[0] as { ttl?: number } | undefined)?.ttl ?? null,
    scope,
    record: null,
    pop: null,
  };
  // What the query path looked up (ecs/subnet.ts): the source address for /0 (RFC 7871 7.1.2),
  // the IPv4 prefix inside an IPv4-mapped one.
  const why = effectivePrefix(client, parsePrefix(source));
  const special = client.length > 0 ? specialRange(why) : null;
  if (special) result.special = special;
  const plan = findPlan(rt.table, query, run.q, rt.refused, run.trace);
  if (!plan.geo) return result;

  const slot = plan.geo;
  const rec = rt.records[slot.record];
  const g = rt.snapshot.geoRecords[slot.record];
  const tables = ctx.tables.get(g.policy)!;
  const pops = rt.snapshot.pops;
  const view = ctx.locator.view(why, tables, true);
  const { ranking, pops: finalPops, spilled } = decide(view, why, tables, pops, ctx.latency, true);

  const health = rt.health;
  const compiled = why.family === 4 ? rec.policy.v4 : rec.policy.v6;
  const packed = lookup(compiled, why.bytes, 0, Math.ceil(why.length / 8));
  const decision = packed >>> 8;
  const k = rec.policy.candidates;
  const rankingOf = (d: number) => [...rec.policy.decisions.subarray(d * k, d * k + k)].filter((x) => x >= 0);
  const triePops = rankingOf(decision);
  const chosen = rt.geo.choose(slot, decision, health.view);
  const loc = view.facts.loc;
  return {
    ...result,
    record: g.name,
    pop: chosen.pops.length > 0 ? pops[chosen.pops[0]].id : null,
    policy: g.policy,
    location: {
      country: loc.country,
      continent: loc.continent,
      subdivision: loc.subdivisionCode ?? loc.subdivisionName,
      city: loc.city,
      lat: Number.isFinite(loc.lat) ? loc.lat : null,
      lon: Number.isFinite(loc.lon) ? loc.lon : null,
    },
    asn: view.facts.asn || null,
    network: view.city ? { prefix: view.city.prefix, database: view.city.file, raw: ctx.locator.raw(why) } : null,
    step: { index: ranking.step, kind: ranking.kind, matched: ranking.matched },
    candidates: (ranking.candidates ?? []).map((c) => ({
      pop: pops[c.pop].id,
      distanceKm: Number.isFinite(c.distanceKm) ? Math.round(c.distanceKm) : null,
      rttMs: Number.isFinite(c.rttMs) ? Math.round(c.rttMs * 10) / 10 : null,
      rttSource: c.rttSource,
      group: c.group,
      serving: health.view.serving[c.pop] === 1,
    })),
    decision: triePops.map((i) => pops[i].id),
    spilled,
    degraded: chosen.degraded,
    failOpen: chosen.failOpen,
    consistent: finalPops.length === triePops.length && finalPops.every((p, i) => p === triePops[i]),
    scopes: scopesOf(rt, slot, why, client.length > 0, result.scope, rankingOf),
  };
}

/** The two scopes of explain (see ExplainScopes) under the runtime's current health state. */
function scopesOf(
  rt: Runtime,
  slot: GeoSlot,
  why: Prefix & { scopeBase: number },
  fromOption: boolean,
  returnedScope: number,
  rankingOf: (d: number) => number[],
): ExplainScopes {
  const health = rt.health;
  const rec = rt.records[slot.record];
  const compiled = why.family === 4 ? rec.policy.v4 : rec.policy.v6;
  const ids = (list: number[]) => list.map((i) => rt.snapshot.pops[i].id);
  /** A decision's answer now, as the PoPs answered and a note. */
  const answerOf = (d: number) => {
    const c = rt.geo.choose(slot, d, health.view);
    return { pops: ids(c.pops), note: c.failOpen ? ' (fail open)' : c.degraded ? ' (degraded)' : '' };
  };
  const text = (d: number) => {
    const a = answerOf(d);
    return `${a.pops.join(' ') || 'none'}${a.note}`;
  };
  const e = explainScopes(compiled, why.bytes, Math.ceil(why.length / 8), text);
  // Without an ECS option (SOURCE 0) the server returns scope 0 whatever the trie says (RFC 7871 7.2.1).
  const at = (depth: number) => (fromOption ? why.scopeBase + depth : 0);
  const current = at(e.currentDepth);
  const fullRanking = at(e.fullDepth);
  const merged = health.tries[2 * slot.id + (why.family === 4 ? 0 : 1)] !== compiled;
  const returned = merged || current === fullRanking ? 'current' : 'full_ranking';
  const n = e.neighbour;
  const neighbour = n && {
    network: `${formatIp(why.family, n.bytes)}/${why.scopeBase + n.depth}`,
    decision: ids(rankingOf(n.decision)),
    answer: answerOf(n.decision).pops,
  };
  let reason: string;
  if (!fromOption) reason = 'no ECS option: scope 0 (RFC 7871 7.2.1)';
  else if (current < fullRanking && neighbour)
    reason = `${neighbour.network}, inside the current scope, ranks ${neighbour.decision.join(' > ')} (this client: ${ids(rankingOf(e.decision)).join(' > ')}) but is answered ${text(n.decision)} now, as this client is`;
  else if (neighbour) reason = `${neighbour.network}, next to it, is answered ${text(n.decision)} now`;
  else reason = 'every address is answered alike';
  if (returned === 'full_ranking')
    reason +=
      rt.snapshot.geoRecords[slot.record].scopes === 'full_ranking'
        ? '; the record is configured scopes: full_ranking'
        : '; the merge for this health state is still running: full-ranking scopes meanwhile';
  return {
    current,
    fullRanking,
    returned,
    reason,
    ...(neighbour ? { neighbour } : {}),
    agrees: returnedScope === (returned === 'current' ? current : fullRanking),
  };
}

/** Human-readable explain output. */
export function formatExplain(r: ExplainResult): string {
  const lines: string[] = [];
  lines.push(
    `${r.name} ${r.type} for client ${r.client}: ${r.rcode} ${r.answers.join(' ') || '(no answer)'}${r.ttl !== null ? ` ttl ${r.ttl}` : ''} scope /${r.scope}`,
  );
  if (r.special) {
    const unplaced = r.record !== null && !r.location?.country && r.location?.lat == null;
    lines.push(
      `  note: ${r.client} is in ${r.special.range}, ${r.special.what}${unplaced ? ': no geo database places it, so the policy decides as for an unknown client' : ''}`,
    );
  }
  if (!r.record) {
    lines.push('  static answer: does not depend on the client (scope 0)');
    return lines.join('\n');
  }
  const l = r.location!;
  lines.push(`  geo record ${r.record || '.'} (policy ${r.policy})`);
  lines.push(
    `  located: ${l.country ?? '??'}${l.subdivision ? `-${l.subdivision}` : ''}${l.city ? ` ${l.city}` : ''} ${l.lat !== null ? `(${l.lat.toFixed(3)}, ${l.lon!.toFixed(3)})` : '(no coordinates)'}${r.asn ? ` AS${r.asn}` : ''}${r.network ? ` network ${r.network.prefix}` : ' (not in the database)'}`,
  );
  lines.push(
    `  decided by: ${r.step!.kind}${r.step!.matched ? ` ${r.step!.matched}` : ''}${r.step!.index >= 0 ? ` (step ${r.step!.index})` : ''}`,
  );
  for (const c of r.candidates!.slice(0, 8)) {
    lines.push(
      `    ${c.pop.padEnd(6)} ${c.distanceKm !== null ? `${String(c.distanceKm).padStart(6)} km` : '     - km'}  rtt ${c.rttMs !== null ? `${c.rttMs} ms` : '-'} (${c.rttSource})${c.group ? ` group ${c.group}` : ''}${c.serving ? '' : '  DOWN/DRAINED'}`,
    );
  }
  lines.push(`  decision: ${r.decision!.join(' > ')}${r.spilled ? ' (spilled: first choice moved to second)' : ''}`);
  lines.push(
    `  answer: ${r.pop ?? 'none'}${r.failOpen ? ' (fail open: every candidate is down)' : r.degraded ? ' (preferred PoP down: degraded TTL)' : ''}`,
  );
  const s = r.scopes;
  if (s) {
    lines.push(
      `  scope: /${s.current} for the answer given now, /${s.fullRanking} for the full ranking; returned: /${r.scope} (${s.returned === 'current' ? 'current answer' : 'full ranking'})`,
    );
    lines.push(`    why: ${s.reason}`);
    if (!s.agrees) lines.push('  WARNING: the scope returned is not the one explain computes');
  }
  if (!r.consistent) lines.push('  WARNING: re-ranking does not match the compiled decision');
  return lines.join('\n');
}
