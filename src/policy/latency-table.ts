/**
 * Measured RTT tables, as an operator exports them from RUM beacons or probes:
 * rows of (client network, PoP, RTT ms, optional sample count), where the
 * client network is a CIDR prefix, an AS number ("AS64500") or an ISO country
 * code ("DE"). CSV (header `client,pop,rtt_ms[,samples]`, '#' comments) or
 * JSON (an array of {client, pop, rtt_ms, samples?}). Errors name file:line.
 * Pure: parsing only; the snapshot builder compiles the rows.
 */
import { LatencyTableError } from '../errors.js';
import { formatPrefix, parsePrefix, type Prefix } from './addr.js';

export type LatencyClient = { kind: 'cidr'; prefix: Prefix; text: string } | { kind: 'asn'; asn: number } | { kind: 'country'; country: string };

export interface LatencyRow {
  client: LatencyClient;
  pop: string;
  rttMs: number;
  samples: number | null;
  line: number;
}

function parseClient(text: string): LatencyClient | string {
  const t = text.trim();
  const asn = /^AS(\d{1,10})$/i.exec(t);
  if (asn) return { kind: 'asn', asn: Number(asn[1]) };
  if (/^[A-Za-z]{2}$/.test(t)) return { kind: 'country', country: t.toUpperCase() };
  try {
    const prefix = parsePrefix(t);
    return { kind: 'cidr', prefix, text: formatPrefix(prefix) };
  } catch (err) {
    return `client "${t}" is not a CIDR prefix, an AS number (AS64500) or a country code (${(err as Error).message})`;
  }
}

function row(file: string, line: number, client: string, pop: string, rtt: string | number, samples: string | number | undefined): LatencyRow {
  const c = parseClient(String(client ?? ''));
  if (typeof c === 'string') throw new LatencyTableError(file, line, c);
  if (!pop || typeof pop !== 'string') throw new LatencyTableError(file, line, 'missing pop');
  const rttMs = Number(rtt);
  if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 60000) throw new LatencyTableError(file, line, `rtt_ms "${rtt}" is not a number of milliseconds (0-60000)`);
  const s = samples === undefined || samples === '' ? null : Number(samples);
  if (s !== null && (!Number.isInteger(s) || s < 0)) throw new LatencyTableError(file, line, `samples "${samples}" is not a whole number`);
  return { client: c, pop: pop.trim(), rttMs, samples: s, line };
}

export function parseLatencyCsv(text: string, file: string): LatencyRow[] {
  const rows: LatencyRow[] = [];
  let header: string[] | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const cells = line.split(',').map((c) => c.trim());
    if (!header) {
      header = cells.map((c) => c.toLowerCase());
      for (const need of ['client', 'pop', 'rtt_ms']) {
        if (!header.includes(need)) throw new LatencyTableError(file, i + 1, `header must name client, pop, rtt_ms (and optionally samples); got "${line}"`);
      }
      return;
    }
    const h = header;
    if (cells.length !== h.length) throw new LatencyTableError(file, i + 1, `expected ${h.length} columns, got ${cells.length}`);
    const get = (name: string) => cells[h.indexOf(name)];
    rows.push(row(file, i + 1, get('client'), get('pop'), get('rtt_ms'), h.includes('samples') ? get('samples') : undefined));
  });
  if (!header) throw new LatencyTableError(file, 1, 'empty table (no header)');
  return rows;
}

export function parseLatencyJson(text: string, file: string): LatencyRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : 1;
    throw new LatencyTableError(file, line, `JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new LatencyTableError(file, 1, 'expected a JSON array of {client, pop, rtt_ms, samples?}');
  // Line numbers for JSON rows: the line where each element's "client" appears, in order.
  const lines: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (/"client"\s*:/.test(l)) lines.push(i + 1);
  });
  return data.map((r: Record<string, unknown>, i) => {
    const line = lines[i] ?? 1;
    if (typeof r !== 'object' || r === null) throw new LatencyTableError(file, line, `element ${i} is not an object`);
    return row(file, line, String(r.client ?? ''), String(r.pop ?? ''), r.rtt_ms as number, r.samples as number | undefined);
  });
}

/** Parse by extension: .json is JSON, anything else CSV. */
export function parseLatencyTable(text: string, file: string): LatencyRow[] {
  return file.toLowerCase().endsWith('.json') ? parseLatencyJson(text, file) : parseLatencyCsv(text, file);
}
