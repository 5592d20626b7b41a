/**
 * The change guard: before a new database, policy, PoP list or latency table
 * replaces the running one, compare the decisions both would make. Measured
 * per geo record on
 *  - a fixed sample of client networks (IPv4 /24s and IPv6 /48s drawn from
 *    the databases, as `simulate --generate` draws them: the running
 *    database's sample and the new one's), answered by the old and the new
 *    trie: the share whose first-choice PoP changes, from which PoP to which,
 *    with examples;
 *  - the address space each PoP is first choice for (exact, from the tries'
 *    leaf depths), before and after: the IPv4 shift is half the L1 distance.
 * A change that moves more than `max_change` of the sample is held (not applied) and reported; the operator
 * applies it with `meridian reload --accept` / POST /admin/reload?accept=ID.
 * Pure code: no I/O, unit-tested on snapshots.
 */
import { createHash } from 'node:crypto';
import type { GeoDatabaseInfo } from '../geo/open.js';
import { formatIp } from '../net/ip.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { SimClient } from '../geo/clients.js';
import { lookup, type FamilyTrie } from '../policy/trie.js';
import { runSteps, runStepsAsync } from '../util/steps.js';

/** The fixed sample: packed IPv4 /24s (3 bytes each) and IPv6 /48s (6 bytes each). */
export interface GuardSample {
  v4: Uint8Array;
  v6: Uint8Array;
}

/** What the guard needs from a snapshot (a subset, so tests can build one by hand). */
export interface GuardSnapshot {
  hash: string;
  pops: ReadonlyArray<{ id: string }>;
  geoRecords: ReadonlyArray<{ name: string; policy: string }>;
  policyNames: readonly string[];
  policies: readonly CompiledPolicy[];
  databases: readonly GeoDatabaseInfo[];
  latencyText: string | null;
  guardSample: GuardSample | null;
}

export interface GuardSettings {
  /** Percent of sampled networks (or of IPv4 space) whose first PoP may move without holding. */
  maxChange: number;
  examples: number;
}

export interface PopSpace {
  pop: string;
  /** Share (0-1) of the family's address space this PoP is first choice for. */
  before: number;
  after: number;
}

export interface RecordChange {
  record: string;
  policyBefore: string;
  policyAfter: string;
  sampled: number;
  moved: number;
  /** Percent of sampled networks whose first-choice PoP changed. */
  movedPct: number;
  /** Moves by (from, to), largest first. */
  moves: Array<{ from: string; to: string; networks: number; pct: number }>;
  examples: Array<{ network: string; from: string; to: string }>;
  space: { ipv4: PopSpace[]; ipv6: PopSpace[] };
  /** Percent of the address space whose first PoP changed at least (half the L1 distance of the shares). */
  spaceShiftPct: { ipv4: number; ipv6: number };
}

export interface ChangeReport {
  /** Identity of the new configuration: accept exactly what was reviewed. */
  id: string;
  /** Over the threshold: the change is held. */
  over: boolean;
  maxChangePct: number;
  records: RecordChange[];
  /** The record that moved most (sample share), or null when nothing was compared. */
  worst: { record: string; movedPct: number; spaceShiftPct: number } | null;
}

/** A stable id for what a snapshot would serve (config bytes, databases, latency table). */
export function changeId(s: GuardSnapshot): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        s.hash,
        s.policies.map((p) => p.key ?? null),
        s.databases.map((d) => [d.file, d.size, d.mtimeMs]),
        s.latencyText,
      ]),
    )
    .digest('hex')
    .slice(0, 12);
}

/** Pack a sample of client networks (IPv4 /24s, IPv6 /48s) for a snapshot. */
export function packSample(clients: readonly SimClient[]): GuardSample {
  const v4 = clients.filter((c) => c.prefix.family === 4);
  const v6 = clients.filter((c) => c.prefix.family === 6);
  const out = { v4: new Uint8Array(v4.length * 3), v6: new Uint8Array(v6.length * 6) };
  v4.forEach((c, i) => out.v4.set(c.prefix.bytes.subarray(0, 3), i * 3));
  v6.forEach((c, i) => out.v6.set(c.prefix.bytes.subarray(0, 6), i * 6));
  return out;
}

/** Share (0-1) of each family's address space per PoP index, by first choice (from leaf depths). */
export function addressSpace(p: CompiledPolicy, popCount: number): { ipv4: Float64Array; ipv6: Float64Array } {
  const walk = (t: FamilyTrie) => {
    const out = new Float64Array(popCount);
    if (t.nodes.length === 0 && t.root >= 0) return out;
    const add = (ref: number, depth: number) => {
      const first = p.decisions[~ref * p.candidates];
      if (first >= 0) out[first] += 2 ** -depth;
    };
    if (t.root < 0) {
      add(t.root, 0);
      return out;
    }
    const stack: number[] = [t.root, 0];
    while (stack.length > 0) {
      const depth = stack.pop()!;
      const node = stack.pop()!;
      for (let b = 0; b < 2; b++) {
        const ref = t.nodes[node * 2 + b];
        if (ref < 0) add(ref, depth + 1);
        else stack.push(ref, depth + 1);
      }
    }
    return out;
  };
  return { ipv4: walk(p.v4), ipv6: walk(p.v6) };
}

function firstPop(p: CompiledPolicy, trie: FamilyTrie, bytes: Uint8Array, off: number, len: number): number {
  const packed = lookup(trie, bytes, off, len);
  return p.decisions[(packed >>> 8) * p.candidates];
}

interface Compared {
  moved: number;
  sampled: number;
  moves: Map<string, number>;
  examples: Array<{ network: string; from: string; to: string }>;
}

/** Networks compared between two yields of the generator (a few ms: tries are large, lookups miss the cache). */
const SLICE = 512;

function* compareSample(
  a: GuardSnapshot,
  pa: CompiledPolicy,
  b: GuardSnapshot,
  pb: CompiledPolicy,
  sample: GuardSample,
  out: Compared,
  examples: number,
): Generator<void> {
  const name = (s: GuardSnapshot, i: number) => (i >= 0 ? s.pops[i].id : 'none');
  const families: Array<[Uint8Array, number, 4 | 6]> = [
    [sample.v4, 3, 4],
    [sample.v6, 6, 6],
  ];
  for (const [bytes, width, family] of families) {
    for (let off = 0; off < bytes.length; off += width) {
      if (out.sampled % SLICE === SLICE - 1) yield;
      const from = name(a, firstPop(pa, family === 4 ? pa.v4 : pa.v6, bytes, off, width));
      const to = name(b, firstPop(pb, family === 4 ? pb.v4 : pb.v6, bytes, off, width));
      out.sampled++;
      if (from === to) continue;
      out.moved++;
      const key = `${from}\u0000${to}`;
      out.moves.set(key, (out.moves.get(key) ?? 0) + 1);
      // Examples spread over the moves: at most two per (from, to) pair until the list is full.
      if (out.examples.length < examples && out.examples.filter((e) => e.from === from && e.to === to).length < 2) {
        const full = new Uint8Array(family === 4 ? 4 : 16);
        full.set(bytes.subarray(off, off + width));
        out.examples.push({ network: `${formatIp(family, full)}/${width * 8}`, from, to });
      }
    }
  }
}

function spaceTable(
  a: GuardSnapshot,
  sa: Float64Array,
  b: GuardSnapshot,
  sb: Float64Array,
): { rows: PopSpace[]; shift: number } {
  const before = new Map(a.pops.map((p, i) => [p.id, sa[i]]));
  const after = new Map(b.pops.map((p, i) => [p.id, sb[i]]));
  const ids = [...new Set([...before.keys(), ...after.keys()])];
  const rows = ids.map((pop) => ({ pop, before: before.get(pop) ?? 0, after: after.get(pop) ?? 0 }));
  const shift = rows.reduce((n, r) => n + Math.abs(r.after - r.before), 0) / 2;
  return { rows: rows.filter((r) => r.before > 0 || r.after > 0), shift };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Compare what `next` would answer with what `current` answers, per geo record
 * present in both. Records whose compiled policy did not change are skipped.
 */
export function compareSnapshots(current: GuardSnapshot, next: GuardSnapshot, settings: GuardSettings): ChangeReport {
  return runSteps(comparing(current, next, settings));
}

/** compareSnapshots in slices with the event loop free in between (a serving process compares on its main thread). */
export function compareSnapshotsAsync(
  current: GuardSnapshot,
  next: GuardSnapshot,
  settings: GuardSettings,
): Promise<ChangeReport> {
  return runStepsAsync(comparing(current, next, settings));
}

function* comparing(
  current: GuardSnapshot,
  next: GuardSnapshot,
  settings: GuardSettings,
): Generator<void, ChangeReport> {
  const records: RecordChange[] = [];
  const policyOf = (s: GuardSnapshot, name: string) => s.policies[s.policyNames.indexOf(name)];
  // Records sharing a policy pair share the comparison.
  const done = new Map<string, Compared>();
  for (const g of next.geoRecords) {
    const old = current.geoRecords.find((o) => o.name === g.name);
    if (!old) continue;
    const pa = policyOf(current, old.policy);
    const pb = policyOf(next, g.policy);
    if (!pa || !pb) continue;
    // Equal keys: same rules, PoPs, databases and latency table, so the same trie.
    if (pa === pb || (pa.key !== undefined && pa.key === pb.key)) continue;
    const pair = `${old.policy}\u0000${g.policy}`;
    let cmp = done.get(pair);
    if (!cmp) {
      cmp = { moved: 0, sampled: 0, moves: new Map(), examples: [] };
      for (const sample of [current.guardSample, next.guardSample])
        if (sample) yield* compareSample(current, pa, next, pb, sample, cmp, settings.examples);
      done.set(pair, cmp);
    }
    const c = cmp;
    const sa = pa.space ?? addressSpace(pa, current.pops.length);
    const sb = pb.space ?? addressSpace(pb, next.pops.length);
    const v4 = spaceTable(current, sa.ipv4, next, sb.ipv4);
    const v6 = spaceTable(current, sa.ipv6, next, sb.ipv6);
    const pct = (n: number) => (c.sampled ? round2((n / c.sampled) * 100) : 0);
    records.push({
      record: g.name,
      policyBefore: old.policy,
      policyAfter: g.policy,
      sampled: c.sampled,
      moved: c.moved,
      movedPct: pct(c.moved),
      moves: [...c.moves]
        .map(([k, n]) => {
          const [from, to] = k.split('\u0000');
          return { from, to, networks: n, pct: pct(n) };
        })
        .sort((x, y) => y.networks - x.networks),
      examples: c.examples,
      space: { ipv4: v4.rows, ipv6: v6.rows },
      spaceShiftPct: { ipv4: round2(v4.shift * 100), ipv6: round2(v6.shift * 100) },
    });
  }
  const worst = records.reduce<RecordChange | null>((w, r) => (!w || r.movedPct > w.movedPct ? r : w), null);
  // The sample decides: it holds networks the databases place. The address-space shift is reported, not
  // judged: it counts space no client uses (multicast, reserved), which only the fallback answers.
  const over = records.some((r) => r.movedPct > settings.maxChange);
  return {
    id: changeId(next),
    over,
    maxChangePct: settings.maxChange,
    records,
    worst: worst ? { record: worst.record, movedPct: worst.movedPct, spaceShiftPct: worst.spaceShiftPct.ipv4 } : null,
  };
}

const pctText = (x: number) => `${x.toFixed(2)}%`;

/** The report as text (logs, `meridian reload`, `simulate --compare`). */
export function formatChangeReport(r: ChangeReport): string {
  const lines: string[] = [];
  if (r.records.length === 0) return 'no geo record changes its decisions';
  for (const rec of r.records) {
    const name = rec.record || '.';
    lines.push(
      `${name}: ${pctText(rec.movedPct)} of ${rec.sampled} sampled networks change PoP; IPv4 space shift ${pctText(rec.spaceShiftPct.ipv4)}, IPv6 ${pctText(rec.spaceShiftPct.ipv6)}${rec.policyBefore !== rec.policyAfter ? ` (policy ${rec.policyBefore} -> ${rec.policyAfter})` : ''}`,
    );
    for (const m of rec.moves.slice(0, 10))
      lines.push(`  ${m.from} -> ${m.to}: ${m.networks} networks (${pctText(m.pct)})`);
    if (rec.examples.length)
      lines.push(`  e.g. ${rec.examples.map((e) => `${e.network} ${e.from}->${e.to}`).join(', ')}`);
    const moved = rec.space.ipv4.filter((s) => Math.abs(s.after - s.before) >= 0.0005);
    if (moved.length)
      lines.push(
        `  IPv4 space: ${moved.map((s) => `${s.pop} ${pctText(s.before * 100)}->${pctText(s.after * 100)}`).join(', ')}`,
      );
  }
  lines.push(
    r.over
      ? `over the ${r.maxChangePct}% change guard: held (id ${r.id})`
      : `within the ${r.maxChangePct}% change guard`,
  );
  return lines.join('\n');
}
