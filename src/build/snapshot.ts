/**
 * The compiled snapshot: everything the query path needs, built from a loaded
 * config in one go (zones, PoPs, geo databases, compiled policies). It is a
 * plain value (objects, arrays, typed arrays): it can be built in a worker
 * thread and posted back, or sent to cluster workers, and hydrated there into
 * a Runtime. A snapshot is never modified after it is built.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';
import { readConfigFile, reporter, type LoadedConfig, type Report } from './config/load.js';
import { mergeHealth, type HealthCheckConfig, type MeridianConfig } from './config/schema.js';
import { didYouMean } from '../util/did-you-mean.js';
import { ConfigError, GeoDatabaseError, LatencyTableError, type ConfigIssue } from '../errors.js';
import { parseLatencyTable, type LatencyRow } from '../policy/latency-table.js';
import { databaseIdentity, openDatabases, resolveDatabasePath, type GeoDatabaseInfo, type OpenedDatabases, type OpenOptions } from '../geo/open.js';
import { addressSpace, packSample, type GuardSample } from './change-guard.js';
import { generateClients } from '../geo/clients.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import type { LatencyRows } from '../policy/rank.js';
import { buildRuleTables, type PopInfo, type RuleTables } from '../policy/rules.js';
import { buildGeoRecords, buildZone, checkZones, type GeoRecordData, type ZoneData } from '../zone/build.js';

export interface PopData extends PopInfo {
  ipv4: string[];
  ipv6: string[];
  /** Effective health check (defaults merged), type 'none' when unchecked. */
  health: HealthCheckConfig;
}

export interface Snapshot {
  /** sha256 of the config file. */
  hash: string;
  file: string;
  builtAt: number;
  config: MeridianConfig;
  /** NSID payload text (empty = NSID off). */
  identity: string;
  zones: ZoneData[];
  geoRecords: GeoRecordData[];
  pops: PopData[];
  policyNames: string[];
  policies: CompiledPolicy[];
  databases: GeoDatabaseInfo[];
  /** Resolved latency table path, if any (watched for changes). */
  latencyTable: string | null;
  /** The table's text as compiled (explain and the map rank with exactly these rows). */
  latencyText: string | null;
  /** The change guard's fixed sample of client networks, drawn from these databases (null: not drawn). */
  guardSample: GuardSample | null;
  compileMs: number;
}

export function resolveIdentity(identity: string): string {
  return identity === 'auto' ? os.hostname() : identity;
}

function buildPops(config: MeridianConfig, report: Report): PopData[] {
  return Object.entries(config.pops).map(([id, p]) => {
    p.ipv4.forEach((a, i) => isIPv4(a) || report(['pops', id, 'ipv4', i], `"${a}" is not an IPv4 address`));
    p.ipv6.forEach((a, i) => isIPv6(a) || report(['pops', id, 'ipv6', i], `"${a}" is not an IPv6 address`));
    if (p.ipv4.length + p.ipv6.length === 0) report(['pops', id], 'a PoP needs at least one ipv4 or ipv6 address');
    const health = mergeHealth(p.health, config.health.defaults);
    if (health.type !== 'none' && !health.target && p.ipv4.length + p.ipv6.length === 0) {
      report(['pops', id, 'health'], 'no target to probe');
    }
    if (health.timeout >= health.interval && health.type !== 'none') {
      report(['pops', id, 'health', 'timeout'], `timeout (${health.timeout}s) must be shorter than interval (${health.interval}s)`);
    }
    return { id, lat: p.location.lat, lon: p.location.lon, weight: p.weight, spill: p.spill, ipv4: p.ipv4, ipv6: p.ipv6, health };
  });
}

/**
 * Load the latency table (if configured), check its PoPs, and compile it:
 * ASN and country rows into LatencyRows, CIDR rows into the overlay of every
 * policy with a latency step (only there: elsewhere they would split scopes
 * for nothing). Problems are reported at geo.latency_table. `table` is the
 * file's path and text as the snapshot read them (explain reuses them, so it
 * never sees a newer file than the one being served).
 */
export function applyLatencyTable(
  config: MeridianConfig,
  table: { file: string; text: string | null } | null,
  pops: readonly PopInfo[],
  tables: Map<string, RuleTables>,
  report: Report,
): LatencyRows | null {
  const at = ['geo', 'latency_table'];
  const rows: LatencyRows = { byAsn: new Map(), byCountry: new Map(), pathInflation: config.geo.path_inflation };
  if (!table) return rows;
  const file = table.file;
  let parsed: LatencyRow[];
  try {
    if (table.text === null) throw new Error('unreadable');
    parsed = parseLatencyTable(table.text, file);
  } catch (err) {
    if (err instanceof LatencyTableError) report(at, err.message); // unreadable files were reported by the caller
    return null;
  }
  const popIndex = new Map(pops.map((p, i) => [p.id, i]));
  const latencyTables = [...tables.values()].filter((t) => t.steps.some((st) => st.kind === 'latency'));
  const seen = new Set<string>();
  for (const r of parsed) {
    const pop = popIndex.get(r.pop);
    if (pop === undefined) {
      report(at, `${file}:${r.line}: unknown PoP "${r.pop}"${didYouMean(r.pop, popIndex.keys())}`);
      continue;
    }
    const key = `${r.client.kind === 'cidr' ? r.client.text : r.client.kind === 'asn' ? `AS${r.client.asn}` : r.client.country}|${r.pop}`;
    if (seen.has(key)) report(at, `${file}:${r.line}: duplicate row for ${key.replace('|', ' -> ')}`);
    seen.add(key);
    const c = r.client;
    if (c.kind === 'cidr') for (const t of latencyTables) t.overlay.insert(c.prefix, c.text, { kind: 'rtt', pop, rttMs: r.rttMs, prefix: c.text });
    else if (c.kind === 'asn') (rows.byAsn.get(c.asn) ?? rows.byAsn.set(c.asn, new Map()).get(c.asn)!).set(pop, r.rttMs);
    else (rows.byCountry.get(c.country) ?? rows.byCountry.set(c.country, new Map()).get(c.country)!).set(pop, r.rttMs);
  }
  if (rows.byAsn.size > 0 && !config.geo.asn_database) report(at, 'the latency table has AS-number rows but geo.asn_database is not set');
  return rows;
}

/**
 * Build the rule tables of every policy; problems are reported. Shared by the
 * snapshot builder and explain (which ranks with details from the same tables).
 */
export function buildAllRuleTables(
  config: MeridianConfig,
  pops: readonly PopInfo[],
  report: Report,
): Map<string, RuleTables> {
  const out = new Map<string, RuleTables>();
  for (const [name, policy] of Object.entries(config.policies)) {
    out.set(name, buildRuleTables(name, policy, pops, ['policies', name], report));
  }
  return out;
}

/** Open the databases a config names; failures become config issues at geo.*. */
export function openConfiguredDatabases(loaded: LoadedConfig, issues: ConfigIssue[], opts: OpenOptions = {}): OpenedDatabases | null {
  const { config, dir, locate } = loaded;
  const before = issues.length;
  const files: string[] = [];
  let asn: string | null = null;
  try {
    config.geo.databases.forEach((spec, i) => {
      try {
        files.push(resolveDatabasePath(spec, dir));
      } catch (err) {
        issues.push({ ...locate(['geo', 'databases', i]), message: (err as Error).message });
      }
    });
    if (config.geo.asn_database) asn = resolveDatabasePath(config.geo.asn_database, dir);
  } catch (err) {
    issues.push({ ...locate(['geo', 'asn_database']), message: (err as Error).message });
  }
  if (issues.length > before) return null;
  try {
    return openDatabases(files, asn, opts);
  } catch (err) {
    if (!(err instanceof GeoDatabaseError)) throw err;
    const index = files.indexOf(err.file);
    const at = index >= 0 ? ['geo', 'databases', index] : ['geo', 'asn_database'];
    issues.push({ ...locate(at), message: err.message });
    return null;
  }
}

/**
 * What a compiled policy depends on: its rules, the PoPs, the databases (by
 * identity: path, size, mtime, inode) and the latency table's bytes. Equal
 * keys mean an identical trie, so a reload can keep the compiled one.
 */
function policyKey(config: MeridianConfig, name: string, pops: readonly PopInfo[], dbs: OpenedDatabases, latencyText: string): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        policy: config.policies[name],
        pops: pops.map((p) => [p.id, p.lat, p.lon, p.weight, p.spill]),
        dbs: dbs.infos.map((d) => [d.file, d.size, d.mtimeMs, d.usedFor]),
        pathInflation: config.geo.path_inflation,
        latencyText,
      }),
    )
    .digest('hex');
}

export interface BuildOptions {
  /** Keys of compiled policies the caller still has: those are not compiled again (a `reused` placeholder comes back). */
  reusable?: ReadonlySet<string>;
  /** Database identities (geo/open.ts databaseIdentity) validated by an earlier compile: not walked again. */
  validated?: ReadonlySet<string>;
  /**
   * Draw the change guard's sample of client networks (reload.change_guard.sample).
   * Skipped when sampleKey() equals `sampleOf` (the caller keeps its sample).
   */
  guardSample?: boolean;
  sampleOf?: string;
}

/** What the change guard's sample depends on: the databases' identities and the sample size. */
export function sampleKey(dbs: readonly GeoDatabaseInfo[], size: number): string {
  return `${dbs.map(databaseIdentity).join('\n')}\n${size}`;
}

/** Validate and compile a loaded config into a Snapshot. Throws ConfigError with every issue. */
export function buildSnapshot(loaded: LoadedConfig, opts: BuildOptions = {}): Snapshot {
  const t0 = performance.now();
  const { config, locate } = loaded;
  // Schema problems found while loading come first; the checks below run on the salvaged rest.
  const issues: ConfigIssue[] = [...loaded.problems];
  const report = reporter(locate, issues);

  const pops = buildPops(config, report);
  const tables = buildAllRuleTables(config, pops, report);
  const latencyFile = config.geo.latency_table ? path.resolve(loaded.dir, config.geo.latency_table) : null;
  let latencyText: string | null = null;
  if (latencyFile) {
    try {
      latencyText = readFileSync(latencyFile, 'utf8');
    } catch (err) {
      report(['geo', 'latency_table'], `cannot read ${latencyFile}: ${(err as Error).message}`);
    }
  }
  const latency = applyLatencyTable(config, latencyFile ? { file: latencyFile, text: latencyText } : null, pops, tables, report);
  const zones = config.zones.map((zc, i) => buildZone(zc, i, loaded.dir, report));
  const policyNames = new Set(tables.keys());
  const geoRecords = zones.flatMap((z, i) => (z ? buildGeoRecords(config.zones[i], z, i, policyNames, report) : []));
  checkZones(zones, geoRecords, report, (p) => {
    const l = locate(p);
    return `${l.file}:${l.line}:${l.column}`;
  });
  if (geoRecords.length > 0 && pops.length === 0) report(['pops'], 'geo records need at least one PoP');
  const dbs = openConfiguredDatabases(loaded, issues, { validated: opts.validated });
  if (issues.length > 0 || !dbs) throw new ConfigError(inFileOrder(issues));

  const used = new Set(geoRecords.map((g) => g.policy));
  const names = [...tables.keys()].filter((n) => used.has(n));
  const policies = names.map((n) => {
    const key = policyKey(config, n, pops, dbs, latencyText ?? '');
    if (opts.reusable?.has(key)) return reusedPolicy(n, key);
    const compiled = compilePolicy(tables.get(n)!, pops, { city4: dbs.city4, city6: dbs.city6, asn4: dbs.asn4, asn6: dbs.asn6, latency });
    return { ...compiled, key, space: addressSpace(compiled, pops.length) };
  });
  const guard = config.reload.change_guard;
  const sampled = opts.guardSample && guard.enabled && geoRecords.length > 0 && sampleKey(dbs.infos, guard.sample) !== opts.sampleOf;
  const guardSample = sampled ? packSample(generateClients(dbs, guard.sample, 1)) : null;
  return {
    hash: loaded.hash,
    file: loaded.file,
    builtAt: Date.now(),
    config,
    identity: resolveIdentity(config.server.identity),
    zones: zones as ZoneData[],
    geoRecords,
    pops,
    policyNames: names,
    policies,
    databases: dbs.infos,
    latencyTable: latencyFile,
    latencyText,
    guardSample,
    compileMs: Math.round(performance.now() - t0),
  };
}

/** Issues sorted by position (stable), so one pass reads top to bottom. */
function inFileOrder(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : 0));
}

/** A stand-in for a policy the caller already has compiled under `key`. */
function reusedPolicy(name: string, key: string): CompiledPolicy {
  const empty = { nodes: new Int32Array(0), root: -1 };
  return {
    name,
    key,
    reused: true,
    candidates: 0,
    v4: empty,
    v6: empty,
    decisions: new Int16Array(0),
    decisionCount: 0,
    stats: { compileMs: 0, nodes4: 0, nodes6: 0, networks4: 0, networks6: 0, leaves4: 0, leaves6: 0, decisions: 0, ranked: 0 },
  };
}

/** Put the caller's compiled policies in place of `reused` stand-ins (by key). */
export function fillReused(s: Snapshot, previous: Snapshot): Snapshot {
  const byKey = new Map(previous.policies.map((p) => [p.key, p]));
  const policies = s.policies.map((p) => {
    if (!p.reused) return p;
    const old = byKey.get(p.key);
    if (!old) throw new Error(`compiled policy ${p.name} vanished before the reload finished`);
    return { ...old, name: p.name };
  });
  // The worker draws no sample when the databases did not change: keep the caller's.
  const n = s.config.reload.change_guard.sample;
  const guardSample = s.guardSample ?? (sampleKey(s.databases, n) === sampleKey(previous.databases, n) ? previous.guardSample : null);
  return { ...s, policies, guardSample };
}

/** Load, validate and compile a config file (the whole pipeline, synchronous). */
export function buildSnapshotFromFile(file: string, opts: BuildOptions = {}): Snapshot {
  const loaded = readConfigFile(file);
  return buildSnapshot(loaded, opts);
}
