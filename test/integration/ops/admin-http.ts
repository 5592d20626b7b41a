/**
 * A small client for the admin HTTP listener (node:http, independent of the
 * server's code) and a Prometheus text-format reader for exact assertions.
 */
import http from 'node:http';

export interface HttpReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export const get = (port: number, path: string) => request(port, 'GET', path);

export function post(
  port: number,
  path: string,
  token?: string | null,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  return request(port, 'POST', path, token ? { authorization: `Bearer ${token}`, ...headers } : headers);
}

export async function getJson<T = unknown>(port: number, path: string): Promise<T> {
  const r = await get(port, path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** One sample of the text exposition format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse Prometheus text format (samples only; # lines skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let lm = re.exec(m[2]); lm; lm = re.exec(m[2]))
        labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples named `name` whose labels include `labels`. */
export function samples(text: string | Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  const all = typeof text === 'string' ? parseMetrics(text) : text;
  return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample `name{labels}` (exact label set not required); undefined when absent. */
export function metric(text: string | Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(text, name, labels);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Sum over the samples `name{labels...}` (0 when none). */
export function metricSum(text: string | Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples(text, name, labels).reduce((a, s) => a + s.value, 0);
}

export async function scrape(adminPort: number): Promise<Sample[]> {
  const r = await get(adminPort, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics: ${r.status}`);
  return parseMetrics(r.body);
}
