/**
 * Shared helpers for the interop suite: run the Debian tools (dig, kdig,
 * unbound, promtool) with execFile and a timeout, parse their presentation
 * output (dig and kdig formats), talk to the admin HTTP listener, read the
 * Prometheus text format, and find free loopback ports.
 *
 * Every tool is required: a missing one fails the test (never a skip).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { testConfig } from '../helpers/configs.js';

export const DIG = '/usr/bin/dig';
export const KDIG = '/usr/bin/kdig';
export const UNBOUND = '/usr/sbin/unbound';
export const UNBOUND_CHECKCONF = '/usr/sbin/unbound-checkconf';
export const PROMTOOL = '/usr/bin/promtool';
export const CHROMIUM = '/usr/bin/chromium';

/** Throw (so the test fails, not skips) unless `file` is an executable. */
export function requireTool(file: string, pkg: string): void {
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${file} is missing or not executable: install the Debian package "${pkg}" (the CI script does)`);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program (no shell) and collect its output; a non-zero exit is returned, not thrown. */
export function run(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          reject(new Error(`${file} ${args.join(' ')}: ${err.message}`));
          return;
        }
        if (err?.killed) {
          reject(
            new Error(
              `${file} ${args.join(' ')}: killed after ${opts.timeoutMs ?? 15_000} ms (signal ${err.signal})\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

// ---------------------------------------------------------------------------
// dig / kdig presentation format
// ---------------------------------------------------------------------------

export interface ToolRR {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

export interface ToolEcs {
  address: string;
  source: number;
  scope: number;
}

/** One DNS message as dig or kdig printed it. */
export interface ToolMessage {
  status: string;
  flags: string[];
  counts: { answer: number; authority: number; additional: number };
  question: string;
  answer: ToolRR[];
  authority: ToolRR[];
  additional: ToolRR[];
  /** EDNS version of the response's OPT record; null when the response had none. */
  ednsVersion: number | null;
  ednsFlags: string[];
  ecs: ToolEcs | null;
  /** NSID decoded from the printed hex (null when absent). */
  nsid: string | null;
  /** NSID as the tool printed it in quotes (checked against the hex). */
  nsidText: string | null;
  transport: 'UDP' | 'TCP' | null;
  server: string | null;
  size: number | null;
  text: string;
}

function parseRR(line: string): ToolRR {
  const f = line.trim().split(/\s+/);
  if (f.length < 5) throw new Error(`unparsable RR line: ${line}`);
  return { name: f[0].toLowerCase(), ttl: Number(f[1]), class: f[2], type: f[3], data: f.slice(4).join(' ') };
}

/**
 * Parse dig (BIND 9.18) or kdig (Knot 3.x) output into messages, one per
 * ";; ->>HEADER<<-" block. Both formats are handled:
 *   dig:  ";; flags: qr aa; QUERY: 1, ANSWER: 1, ..."   "; CLIENT-SUBNET: 6.0.1.0/24/16"
 *         "; NSID: 74 65 ... ("test-instance")"          ";; SERVER: 127.0.0.1#53(127.0.0.1) (UDP)"
 *         "; EDNS: version: 0, flags: do; udp: 1232"
 *   kdig: ";; Flags: qr aa; QUERY: 1; ANSWER: 1; ..."   ";; CLIENT-SUBNET: 6.0.1.0/24/16"
 *         ";; NSID: 746573... \"test-instance\""          ";; From 127.0.0.1@53(UDP) in 0.5 ms"
 *         ";; Version: 0; flags: do; UDP size: 1232 B; ext-rcode: NOERROR"
 */
export function parseDigOutput(text: string): ToolMessage[] {
  const lines = text.split('\n');
  const out: ToolMessage[] = [];
  let cur: ToolMessage | null = null;
  let section: 'question' | 'answer' | 'authority' | 'additional' | null = null;
  let start = 0;
  const finish = (end: number) => {
    if (cur) cur.text = lines.slice(start, end).join('\n');
  };
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const header = /^;; ->>HEADER<<- opcode: \w+[,;] status: (\w+)[,;] id: \d+/.exec(line);
    if (header) {
      finish(i);
      start = i;
      cur = {
        status: header[1],
        flags: [],
        counts: { answer: -1, authority: -1, additional: -1 },
        question: '',
        answer: [],
        authority: [],
        additional: [],
        ednsVersion: null,
        ednsFlags: [],
        ecs: null,
        nsid: null,
        nsidText: null,
        transport: null,
        server: null,
        size: null,
        text: '',
      };
      out.push(cur);
      section = null;
      return;
    }
    if (!cur) return;
    const m: ToolMessage = cur;
    let x: RegExpExecArray | null;
    if (
      (x = /^;; [Ff]lags:([^;]*);\s*QUERY: \d+[,;] ANSWER: (\d+)[,;] AUTHORITY: (\d+)[,;] ADDITIONAL: (\d+)/.exec(line))
    ) {
      m.flags = x[1].trim().split(/\s+/).filter(Boolean);
      m.counts = { answer: Number(x[2]), authority: Number(x[3]), additional: Number(x[4]) };
      return;
    }
    if (
      (x = /^; EDNS: version: (\d+), flags:([^;]*);/.exec(line)) ||
      (x = /^;; Version: (\d+); flags:([^;]*);/.exec(line))
    ) {
      m.ednsVersion = Number(x[1]);
      m.ednsFlags = x[2].trim().split(/\s+/).filter(Boolean);
      return;
    }
    if ((x = /^;;? CLIENT-SUBNET: (\S+)\/(\d+)\/(\d+)\s*$/.exec(line))) {
      m.ecs = { address: x[1], source: Number(x[2]), scope: Number(x[3]) };
      return;
    }
    if ((x = /^;;? NSID: ([0-9A-Fa-f ]*?)\s*\(?"(.*)"\)?\s*$/.exec(line))) {
      m.nsid = Buffer.from(x[1].replace(/\s+/g, ''), 'hex').toString('utf8');
      m.nsidText = x[2];
      return;
    }
    if ((x = /^;; SERVER: (\S+?)\(.*\) \((UDP|TCP)\)/.exec(line)) || (x = /^;; From (\S+?)\((UDP|TCP)\)/.exec(line))) {
      m.server = x[1];
      m.transport = x[2] as 'UDP' | 'TCP';
      return;
    }
    if ((x = /^;; MSG SIZE\s+rcvd: (\d+)/.exec(line)) || (x = /^;; Received (\d+) B/.exec(line))) {
      m.size = Number(x[1]);
      return;
    }
    if ((x = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line))) {
      section = x[1].toLowerCase() as typeof section;
      return;
    }
    if (line.trim() === '') {
      section = null;
      return;
    }
    if (section === 'question') {
      m.question = line
        .replace(/^;+\s*/, '')
        .trim()
        .split(/\s+/)
        .join(' ');
      return;
    }
    if (section && !line.startsWith(';')) m[section].push(parseRR(line));
  });
  finish(lines.length);
  return out;
}

/** Run dig or kdig and parse its output; throws on a non-zero exit (with the output). */
export async function digLike(
  tool: string,
  args: readonly string[],
  timeoutMs = 15_000,
): Promise<{ messages: ToolMessage[]; stdout: string; stderr: string }> {
  // dig -r: do not read ~/.digrc (a developer's defaults must not change the output).
  const r = await run(tool, tool === DIG ? ['-r', ...args] : args, { timeoutMs });
  if (r.code !== 0)
    throw new Error(`${tool} ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return { messages: parseDigOutput(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

/** Exactly one message from a dig/kdig run. */
export async function digOne(tool: string, args: readonly string[]): Promise<ToolMessage> {
  const { messages, stdout, stderr } = await digLike(tool, args);
  if (messages.length !== 1)
    throw new Error(
      `expected one response from ${tool} ${args.join(' ')}, parsed ${messages.length}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    );
  return messages[0];
}

/** RDATA strings of the records of `type` in a section. */
export const rdata = (rrs: readonly ToolRR[], type: string) => rrs.filter((r) => r.type === type).map((r) => r.data);

// ---------------------------------------------------------------------------
// Admin HTTP and metrics
// ---------------------------------------------------------------------------

export interface HttpReply {
  status: number;
  body: string;
}

export function httpRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export async function httpGet(port: number, path: string): Promise<string> {
  const r = await httpRequest(port, 'GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body}`);
  return r.body;
}

// One Prometheus text parser for every suite.
export { parseMetrics, type Sample } from '../integration/ops/admin-http.js';
import { parseMetrics, type Sample } from '../integration/ops/admin-http.js';

/** Sum of the samples of `name` whose labels include `match`. */
export function metricSum(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

export async function scrape(adminPort: number): Promise<Sample[]> {
  return parseMetrics(await httpGet(adminPort, '/metrics'));
}

// ---------------------------------------------------------------------------
// Configs and ports
// ---------------------------------------------------------------------------

const ADMIN_BLOCK = 'admin:\n  listen: 127.0.0.1:0\n';

/** testConfig() with an admin bearer token (>= 16 characters). */
export function configWithToken(token: string, base = testConfig()): string {
  if (!base.includes(ADMIN_BLOCK)) throw new Error('testConfig() no longer has the expected admin block');
  return base.replace(ADMIN_BLOCK, `${ADMIN_BLOCK}  token: ${JSON.stringify(token)}\n`);
}

function canBind(kind: 'udp' | 'tcp', host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === 'tcp') {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
    } else {
      const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', () => {
        sock.close();
        resolve(false);
      });
      sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve(true)));
    }
  });
}

/** A port that is currently free for UDP and TCP on every host in `hosts` (loopback only). */
export async function freePort(hosts: readonly string[] = ['127.0.0.1']): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, hosts[0], () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    let ok = true;
    for (const h of hosts) if (!(await canBind('udp', h, port)) || !(await canBind('tcp', h, port))) ok = false;
    if (ok) return port;
  }
  throw new Error(`no port free on ${hosts.join(', ')} after 50 attempts`);
}
