/**
 * Measured RTT tables, as an operator exports them from RUM beacons or probes:
 * rows of (client network, PoP, RTT ms, optional sample count), where the
 * client network is a CIDR prefix, an AS number ("AS64500") or an ISO country
 * code ("DE"). CSV (header `client,pop,rtt_ms[,samples]`, '#' comments) or
 * JSON (an array of {client, pop, rtt_ms, samples?}). Errors name file:line.
 * Pure: parsing only; the snapshot builder compiles the rows.
 */
import { LatencyTableError } from '../errors.js';
import { formatPrefix, parsePrefix, type Prefix } from '../net/ip.js';

export type LatencyClient =
  | { kind: 'cidr'; prefix: Prefix; text: string }
  | { kind: 'asn'; asn: number }
  | { kind: 'country'; country: string };

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

function row(
  file: string,
  line: number,
  client: string,
  pop: string,
  rtt: string | number | null | undefined,
  samples: string | number | undefined,
): LatencyRow {
  const c = parseClient(String(client ?? ''));
  if (typeof c === 'string') throw new LatencyTableError(file, line, c);
  if (!pop || typeof pop !== 'string') throw new LatencyTableError(file, line, 'missing pop');
  // Number('') and Number(null) are 0: a missing value must not read as the fastest PoP.
  const missing = rtt === null || rtt === undefined || (typeof rtt === 'string' && rtt.trim() === '');
  if (missing) throw new LatencyTableError(file, line, 'missing rtt_ms');
  const rttMs = Number(rtt);
  if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 60000)
    throw new LatencyTableError(file, line, `rtt_ms "${rtt}" is not a number of milliseconds (0-60000)`);
  const s = samples === undefined || samples === '' ? null : Number(samples);
  if (s !== null && (!Number.isInteger(s) || s < 0))
    throw new LatencyTableError(file, line, `samples "${samples}" is not a whole number`);
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
        if (!header.includes(need))
          throw new LatencyTableError(
            file,
            i + 1,
            `header must name client, pop, rtt_ms (and optionally samples); got "${line}"`,
          );
      }
      return;
    }
    const h = header;
    if (cells.length !== h.length)
      throw new LatencyTableError(file, i + 1, `expected ${h.length} columns, got ${cells.length}`);
    const get = (name: string) => cells[h.indexOf(name)];
    rows.push(
      row(file, i + 1, get('client'), get('pop'), get('rtt_ms'), h.includes('samples') ? get('samples') : undefined),
    );
  });
  if (!header) throw new LatencyTableError(file, 1, 'empty table (no header)');
  return rows;
}

export function parseLatencyJson(text: string, file: string): LatencyRow[] {
  const { value, elementLines } = parseJsonWithLines(text, file);
  if (!Array.isArray(value))
    throw new LatencyTableError(file, 1, 'expected a JSON array of {client, pop, rtt_ms, samples?}');
  return value.map((r: unknown, i) => {
    const line = elementLines[i] ?? 1;
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw new LatencyTableError(file, line, `element ${i} is not an object`);
    const o = r as Record<string, unknown>;
    if (o.client === undefined) throw new LatencyTableError(file, line, 'missing client');
    return row(
      file,
      line,
      String(o.client),
      String(o.pop ?? ''),
      o.rtt_ms as number | null | undefined,
      o.samples as number | undefined,
    );
  });
}

/**
 * A small JSON reader that knows lines: errors name the line they are on, and
 * each top-level array element gets a line (its "client" key's, else its
 * start): JSON.parse reports neither on Node 20.
 */
function parseJsonWithLines(text: string, file: string): { value: unknown; elementLines: number[] } {
  let i = 0;
  const elementLines: number[] = [];
  const lineAt = (pos: number) => text.slice(0, pos).split('\n').length;
  const fail = (msg: string): never => {
    throw new LatencyTableError(file, lineAt(i), `JSON: ${msg}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const value = (depth: number): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') return (i++, obj);
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a quoted key`);
        const keyAt = i;
        const k = string();
        // A row is reported at its "client" line (where operators look), else where it starts.
        if (depth === 1 && k === 'client') elementLines[elementLines.length - 1] = lineAt(keyAt);
        ws();
        if (text[i++] !== ':') fail(`expected ':' after "${k}"`);
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return (i++, obj);
        else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') return (i++, arr);
      for (;;) {
        ws();
        if (depth === 0) elementLines.push(lineAt(i));
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return (i++, arr);
        else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) fail(`unexpected ${c === undefined ? 'end of file' : `'${c}'`}`);
    i += m![0].length;
    return m![0] === 'true' ? true : m![0] === 'false' ? false : m![0] === 'null' ? null : Number(m![0]);
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('bad string escape');
    }
  };
  const v = value(0);
  ws();
  if (i < text.length) fail('unexpected text after the value');
  return { value: v, elementLines };
}

/** Parse by extension: .json is JSON, anything else CSV. */
export function parseLatencyTable(text: string, file: string): LatencyRow[] {
  return file.toLowerCase().endsWith('.json') ? parseLatencyJson(text, file) : parseLatencyCsv(text, file);
}
