/**
 * `meridian check --config FILE`: validate and compile exactly as `serve`
 * would, then print a summary, or every problem as
 * `file:line:column: path: message`. Exit code 0 or 1.
 */
import { ConfigError } from '../errors.js';
import { buildSnapshotFromFile } from '../build/snapshot.js';

export function check(
  file: string,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): number {
  try {
    const s = buildSnapshotFromFile(file);
    const records = s.zones.reduce((n, z) => n + z.records.length, 0);
    out(`${file}: OK`);
    out(`  zones:     ${s.zones.map((z) => z.origin).join(', ')} (${records} static records)`);
    out(
      `  geo:       ${s.geoRecords.map((g) => `${g.name} (${g.types.join('/')}, policy ${g.policy})`).join(', ') || 'none'}`,
    );
    out(`  pops:      ${s.pops.length} (${s.pops.map((p) => p.id).join(' ')})`);
    for (const d of s.databases)
      out(
        `  database:  ${d.file} (${d.databaseType}, ${d.usedFor.join('+') || 'unused'}, built ${new Date(d.buildEpoch * 1000).toISOString().slice(0, 10)})`,
      );
    for (const p of s.policies) {
      const st = p.stats;
      out(
        `  policy:    ${p.name}: ${st.decisions} decisions, trie ${st.nodes4} + ${st.nodes6} nodes (IPv4 + IPv6) from ${st.networks4} + ${st.networks6} networks, ${st.compileMs} ms`,
      );
    }
    out(`  compiled in ${s.compileMs} ms`);
    return 0;
  } catch (e) {
    return reportBuildError(file, e, err);
  }
}

/** Print why `file` does not build (every ConfigError issue as file:line:column: path: message); returns exit code 1. */
export function reportBuildError(file: string, e: unknown, err: (line: string) => void): 1 {
  if (e instanceof ConfigError) {
    for (const issue of e.message.split('\n')) err(issue);
    err(`${file}: ${e.issues.length} problem${e.issues.length === 1 ? '' : 's'}`);
    return 1;
  }
  err(`${file}: ${(e as Error).message}`);
  return 1;
}
