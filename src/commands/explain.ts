/**
 * `meridian explain`: compile the config like `serve`, then explain one
 * decision (text, or a stable JSON object with --json).
 */
import { readConfigFile, type LoadedConfig } from '../config/load.js';
import { ConfigError, UsageError } from '../errors.js';
import { explain, formatExplain, type ExplainContext } from '../explain.js';
import { databaseIdentity } from '../geo/open.js';
import { ClientLocator } from '../policy/client-facts.js';
import { Runtime } from '../runtime.js';
import { applyLatencyTable, buildAllRuleTables, buildSnapshot, openConfiguredDatabases } from '../snapshot.js';

export interface ExplainOptions {
  configFile: string;
  name: string;
  type: string;
  client: string;
  json: boolean;
}

/** Build everything explain needs from a config file (`guardSample`: also the change guard's sample, for --compare). */
export function explainContextFromFile(configFile: string, opts: { guardSample?: boolean } = {}): ExplainContext {
  return explainContext(readConfigFile(configFile), opts);
}

/** Build everything explain needs from a loaded config (compiled here). */
export function explainContext(loaded: LoadedConfig, opts: { guardSample?: boolean } = {}): ExplainContext {
  const snapshot = buildSnapshot(loaded, { guardSample: opts.guardSample });
  const issues: never[] = [];
  // The files buildSnapshot just validated (not walked again).
  const dbs = openConfiguredDatabases(loaded, issues, { validated: new Set(snapshot.databases.map(databaseIdentity)) })!;
  const tables = buildAllRuleTables(snapshot.config, snapshot.pops, () => undefined);
  const latency = applyLatencyTable(snapshot.config, snapshot.latencyTable ? { file: snapshot.latencyTable, text: snapshot.latencyText } : null, snapshot.pops, tables, () => undefined);
  return { runtime: new Runtime(snapshot), tables, locator: new ClientLocator(dbs), latency };
}

export function explainCommand(opts: ExplainOptions): number {
  let ctx: ExplainContext;
  try {
    ctx = explainContextFromFile(opts.configFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  let result;
  try {
    result = explain(ctx, opts.name, opts.type, opts.client);
  } catch (err) {
    throw new UsageError((err as Error).message); // a client or name explain cannot use
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatExplain(result)}\n`);
  return 0;
}
