/**
 * The compiled snapshot: everything the query path needs, built from a loaded
 * config in one go (zones, PoPs, geo databases, compiled policies). It is a
 * plain value (objects, arrays, typed arrays): it can be built in a worker
 * thread and posted back, or sent to cluster workers, and hydrated there into
 * a Runtime. A snapshot is never modified after it is built.
 */
import os from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import type { HealthCheckConfig, MeridianConfig } from './config/schema.js';
import { ConfigError, GeoDatabaseError, type ConfigIssue } from './errors.js';
import { openDatabases, resolveDatabasePath, type GeoDatabaseInfo, type OpenedDatabases } from './geo/open.js';
import { compilePolicy, type CompiledPolicy } from './policy/compile.js';
import type { LatencyRows } from './policy/rank.js';
import { buildRuleTables, type PopInfo, type RuleTables } from './policy/rules.js';
import { buildGeoRecords, buildZone, checkZones, type GeoRecordData, type ZoneData } from './zone/build.js';

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
  compileMs: number;
}

/** Health-check defaults when neither the PoP nor `health.defaults` say otherwise. */
const HEALTH_DEFAULTS: HealthCheckConfig = {
  type: 'none',
  path: '/',
  method: 'GET',
  expect_status: [200],
  tls_verify: true,
  interval: 5,
  timeout: 2,
  rise: 2,
  fall: 3,
  initial: 'up',
  jitter: 0.1,
};

export function resolveIdentity(identity: string): string {
  return identity === 'auto' ? os.hostname() : identity;
}

function buildPops(config: MeridianConfig, report: (p: ReadonlyArray<string | number>, m: string) => void): PopData[] {
  return Object.entries(config.pops).map(([id, p]) => {
    p.ipv4.forEach((a, i) => isIPv4(a) || report(['pops', id, 'ipv4', i], `"${a}" is not an IPv4 address`));
    p.ipv6.forEach((a, i) => isIPv6(a) || report(['pops', id, 'ipv6', i], `"${a}" is not an IPv6 address`));
    if (p.ipv4.length + p.ipv6.length === 0) report(['pops', id], 'a PoP needs at least one ipv4 or ipv6 address');
    const health = { ...HEALTH_DEFAULTS, ...config.health.defaults, ...p.health } as HealthCheckConfig;
    if (health.type !== 'none' && !health.target && p.ipv4.length + p.ipv6.length === 0) {
      report(['pops', id, 'health'], 'no target to probe');
    }
    if (health.timeout >= health.interval && health.type !== 'none') {
      report(['pops', id, 'health', 'timeout'], `timeout (${health.timeout}s) must be shorter than interval (${health.interval}s)`);
    }
    return { id, lat: p.location.lat, lon: p.location.lon, weight: p.weight, spill: p.spill, ipv4: p.ipv4, ipv6: p.ipv6, health };
  });
}

/** Inputs the compiler may take from outside the config file (latency rows, issue 6). */
export interface BuildOptions {
  latency?: LatencyRows | null;
}

/**
 * Build the rule tables of every policy; problems are reported. Shared by the
 * snapshot builder and explain (which ranks with details from the same tables).
 */
export function buildAllRuleTables(
  config: MeridianConfig,
  pops: readonly PopInfo[],
  report: (p: ReadonlyArray<string | number>, m: string) => void,
): Map<string, RuleTables> {
  const out = new Map<string, RuleTables>();
  for (const [name, policy] of Object.entries(config.policies)) {
    out.set(name, buildRuleTables(name, policy, pops, ['policies', name], report));
  }
  return out;
}

/** Open the databases a config names; failures become config issues at geo.*. */
export function openConfiguredDatabases(loaded: LoadedConfig, issues: ConfigIssue[]): OpenedDatabases | null {
  const { config, dir, locate } = loaded;
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
  if (issues.length > 0) return null;
  try {
    return openDatabases(files, asn);
  } catch (err) {
    if (!(err instanceof GeoDatabaseError)) throw err;
    const index = files.indexOf(err.file);
    const at = index >= 0 ? ['geo', 'databases', index] : ['geo', 'asn_database'];
    issues.push({ ...locate(at), message: err.message });
    return null;
  }
}

/** Validate and compile a loaded config into a Snapshot. Throws ConfigError with every issue. */
export function buildSnapshot(loaded: LoadedConfig, opts: BuildOptions = {}): Snapshot {
  const t0 = performance.now();
  const { config, locate } = loaded;
  const issues: ConfigIssue[] = [];
  const report = (p: ReadonlyArray<string | number>, message: string) => issues.push({ ...locate(p), message });

  const pops = buildPops(config, report);
  const tables = buildAllRuleTables(config, pops, report);
  const zones = config.zones.map((zc, i) => buildZone(zc, i, loaded.dir, report));
  const policyNames = new Set(tables.keys());
  const geoRecords = zones.flatMap((z, i) => (z ? buildGeoRecords(config.zones[i], z, i, policyNames, report) : []));
  checkZones(zones, geoRecords, report);
  if (geoRecords.length > 0 && pops.length === 0) report(['pops'], 'geo records need at least one PoP');
  const dbs = openConfiguredDatabases(loaded, issues);
  if (issues.length > 0 || !dbs) throw new ConfigError(issues);

  const used = new Set(geoRecords.map((g) => g.policy));
  const names = [...tables.keys()].filter((n) => used.has(n));
  const policies = names.map((n) =>
    compilePolicy(tables.get(n)!, pops, {
      city4: dbs.city4,
      city6: dbs.city6,
      asn4: dbs.asn4,
      asn6: dbs.asn6,
      latency: opts.latency ?? null,
    }),
  );
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
    compileMs: Math.round(performance.now() - t0),
  };
}

/** Load, validate and compile a config file (the whole pipeline, synchronous). */
export function buildSnapshotFromFile(file: string): Snapshot {
  const loaded = loadConfigFile(file);
  return buildSnapshot(loaded);
}
