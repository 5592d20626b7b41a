/**
 * The latency table in the snapshot: rows checked against the PoPs and
 * compiled into per-ASN and per-country RTTs, CIDR rows into the overlay of
 * the policies that rank by latency.
 */
import { LatencyTableError } from '../errors.js';
import { didYouMean } from '../util/did-you-mean.js';
import type { Report } from './config/load.js';
import type { MeridianConfig } from './config/schema.js';
import { parseLatencyTable, type LatencyRow } from '../policy/latency-table.js';
import type { LatencyRows } from '../policy/rank.js';
import type { PopInfo, RuleTables } from '../policy/rules.js';

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
    if (c.kind === 'cidr')
      for (const t of latencyTables)
        t.overlay.insert(c.prefix, c.text, { kind: 'rtt', pop, rttMs: r.rttMs, prefix: c.text });
    else if (c.kind === 'asn')
      (rows.byAsn.get(c.asn) ?? rows.byAsn.set(c.asn, new Map()).get(c.asn)!).set(pop, r.rttMs);
    else (rows.byCountry.get(c.country) ?? rows.byCountry.set(c.country, new Map()).get(c.country)!).set(pop, r.rttMs);
  }
  if (rows.byAsn.size > 0 && !config.geo.asn_database)
    report(at, 'the latency table has AS-number rows but geo.asn_database is not set');
  return rows;
}
