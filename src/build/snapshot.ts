/**
 * The compiled snapshot: everything the query path needs, built from a loaded
 * config in one go (zones, PoPs, geo databases, compiled policies). It is a
 * plain value (objects, arrays, typed arrays): it can be built in a worker
 * thread and posted back, or sent to cluster workers, and hydrated there into
 * a Runtime. A snapshot is never modified after it is built.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { generateClients } from '../geo/clients.js';
import type { GeoDatabaseInfo } from '../geo/open.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import type { PopInfo } from '../policy/rules.js';
import { buildGeoRecords, buildZone, checkZones, type GeoRecordData, type ZoneData } from '../zone/build.js';
import { addressSpace, packSample, type GuardSample } from './change-guard.js';
import { readConfigFile, reporter, type LoadedConfig } from './config/load.js';
import type { HealthCheckConfig, MeridianConfig } from './config/schema.js';
import { openConfiguredDatabases } from './databases.js';
import { applyLatencyTable } from './latency.js';
import { buildAllRuleTables, policyKey, reusedPolicy, sampleKey } from './policies.js';
import { type GuardSettings, resolveGuards } from './guards.js';
import { buildPops, resolveIdentity, resolveServerId } from './pops.js';

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
  /** This instance's name (server.identity; the host name for "auto"). */
  identity: string;
  /** What NSID and CHAOS id.server / hostname.bind answer (server.server_id); empty: nothing. */
  serverId: string;
  /** Rate limiting and cookie settings, secrets read (build/guards.ts). */
  guards: GuardSettings;
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

/** Validate and compile a loaded config into a Snapshot. Throws ConfigError with every issue. */
export function buildSnapshot(loaded: LoadedConfig, opts: BuildOptions = {}): Snapshot {
  const t0 = performance.now();
  const { config, locate } = loaded;
  // Schema problems found while loading come first; the checks below run on the salvaged rest.
  const issues: ConfigIssue[] = [...loaded.problems];
  const report = reporter(locate, issues);

  const pops = buildPops(config, report);
  const guards = resolveGuards(config, report);
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
  const latency = applyLatencyTable(
    config,
    latencyFile ? { file: latencyFile, text: latencyText } : null,
    pops,
    tables,
    report,
  );
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
    const compiled = compilePolicy(tables.get(n)!, pops, {
      city4: dbs.city4,
      city6: dbs.city6,
      asn4: dbs.asn4,
      asn6: dbs.asn6,
      latency,
    });
    return { ...compiled, key, space: addressSpace(compiled, pops.length) };
  });
  const guard = config.reload.change_guard;
  const sampled =
    opts.guardSample && guard.enabled && geoRecords.length > 0 && sampleKey(dbs.infos, guard.sample) !== opts.sampleOf;
  const guardSample = sampled ? packSample(generateClients(dbs, guard.sample, 1)) : null;
  return {
    hash: loaded.hash,
    file: loaded.file,
    builtAt: Date.now(),
    config,
    identity: resolveIdentity(config.server.identity),
    serverId: resolveServerId(config),
    guards,
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

/** Load, validate and compile a config file (the whole pipeline, synchronous). */
export function buildSnapshotFromFile(file: string, opts: BuildOptions = {}): Snapshot {
  const loaded = readConfigFile(file);
  return buildSnapshot(loaded, opts);
}
