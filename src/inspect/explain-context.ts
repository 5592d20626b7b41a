/**
 * The one factory for what explain, simulate and the live map need beside a
 * runtime: the rule tables and latency rows the compiler used, and the geo
 * databases the snapshot was compiled from (only those: a file replaced on
 * disk since is refused until a reload takes it). Used by `meridian explain`
 * and `simulate` (synchronous, after compiling the config) and by the serving
 * process's /explain and /map (databases read off the event loop).
 */
import { applyLatencyTable } from '../build/latency.js';
import { buildAllRuleTables } from '../build/policies.js';
import { Runtime } from '../build/runtime.js';
import { buildSnapshotFromFile, type Snapshot } from '../build/snapshot.js';
import { databaseIdentity, type OpenedDatabases, openDatabases, openDatabasesAsync } from '../geo/open.js';
import { allServing, type HealthView } from '../health/view.js';
import { buildCurrentScopes, type ScopeSet } from '../policy/current-scopes.js';
import { ClientLocator } from '../policy/client-facts.js';
import type { ExplainContext } from './explain.js';

/** The database files a snapshot was compiled from: city/country files and the ASN file. */
function compiledFrom(s: Snapshot): {
  city: string[];
  asn: string | null;
  options: Parameters<typeof openDatabases>[2];
} {
  return {
    city: s.databases.filter((d) => d.usedFor.includes('ipv4') || d.usedFor.includes('ipv6')).map((d) => d.file),
    asn: s.databases.find((d) => d.usedFor.includes('asn'))?.file ?? null,
    // Validated by the compile (not walked again); anything else is refused.
    options: { validated: new Set(s.databases.map(databaseIdentity)), onlyValidated: true },
  };
}

/**
 * Runtime (under `health`, default all serving, with the ECS scopes merged
 * for it), rule tables, latency rows and locator for `snapshot`.
 */
export function explainContextOf(
  snapshot: Snapshot,
  dbs: OpenedDatabases,
  health: HealthView | undefined,
  scopes: ScopeSet | null,
): ExplainContext {
  const tables = buildAllRuleTables(snapshot.config, snapshot.pops, () => undefined);
  const table = snapshot.latencyTable ? { file: snapshot.latencyTable, text: snapshot.latencyText } : null;
  const latency = applyLatencyTable(snapshot.config, table, snapshot.pops, tables, () => undefined);
  return { runtime: new Runtime(snapshot, health, scopes), tables, locator: new ClientLocator(dbs), latency };
}

/**
 * For a snapshot at hand (synchronous: the command line), with every PoP
 * serving unless `health` says otherwise; the scopes of the current answers
 * are merged here, as a server would in its merge thread.
 */
export function explainContextForSnapshot(snapshot: Snapshot, health?: HealthView): ExplainContext {
  const { city, asn, options } = compiledFrom(snapshot);
  const view = health ?? allServing(snapshot.pops.length);
  const scopes = buildCurrentScopes(snapshot, view).set;
  return explainContextOf(snapshot, openDatabases(city, asn, options), view, scopes);
}

/** For the running snapshot of a serving process: the databases are read off the event loop. */
export async function explainContextForRunning(
  snapshot: Snapshot,
  health: HealthView,
  scopes: ScopeSet | null,
): Promise<ExplainContext> {
  const { city, asn, options } = compiledFrom(snapshot);
  return explainContextOf(snapshot, await openDatabasesAsync(city, asn, options), health, scopes);
}

/** Compile a config file like `serve` and build the context (`guardSample`: also draw the change guard's sample). */
export function explainContextFromFile(configFile: string, opts: { guardSample?: boolean } = {}): ExplainContext {
  return explainContextForSnapshot(buildSnapshotFromFile(configFile, { guardSample: opts.guardSample }));
}
