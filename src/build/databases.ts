/**
 * The geo databases a config names, resolved against the config's directory
 * and opened (validated unless known good); failures become config issues at
 * geo.databases[i] / geo.asn_database.
 */
import type { LoadedConfig } from './config/load.js';
import { GeoDatabaseError, type ConfigIssue } from '../errors.js';
import { openDatabases, resolveDatabasePath, type OpenedDatabases, type OpenOptions } from '../geo/open.js';

/** Open the databases a config names; failures become config issues at geo.*. */
export function openConfiguredDatabases(
  loaded: LoadedConfig,
  issues: ConfigIssue[],
  opts: OpenOptions = {},
): OpenedDatabases | null {
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
