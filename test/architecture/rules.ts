/**
 * The house rules as data: which room (folder of src/) each file belongs to,
 * which rooms each room may import, and which files form the query path.
 * docs/design.md explains the layout; each room's README.md says the same in
 * words. test/architecture/import-rules.test.ts checks the tree against this.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * An allowed import: a room ('wire'), a room for type-only imports
 * ('build/config:type'), or one file of a room, type-only ('build/runtime.ts:type').
 */
type Allowed = string;

/** Rooms in pipeline order: leaves, the data plane, the build side, the control side, the command line. */
export const ROOMS: Record<string, { allowed: Allowed[]; why: string }> = {
  errors: { allowed: [], why: 'the stable error classes every room throws' },
  util: { allowed: ['errors'], why: 'leaf helpers: package root, version, logger, slicing, workers, HyperLogLog' },
  net: { allowed: ['errors'], why: 'leaf: IP addresses and prefixes, listen addresses' },
  // Data plane, in the order a packet meets it.
  ecs: { allowed: ['net'], why: 'ECS option validation and the effective client subnet' },
  wire: { allowed: ['ecs'], why: 'decode and encode; never throws, knows no zones or policies' },
  zone: {
    allowed: ['wire', 'net', 'util', 'errors', 'build/config:type'],
    why: 'zone data, precomputed answers, lookup; reads the config types it is built from',
  },
  geo: { allowed: ['net', 'util', 'errors'], why: 'MaxMind reader, validation, locations, client samples' },
  health: {
    allowed: ['util', 'errors', 'build/config:type'],
    why: 'probe state machine, probes, monitor; the query path reads only its view',
  },
  policy: {
    allowed: ['zone:type', 'geo', 'health/view.ts:type', 'net', 'util', 'errors', 'build/config:type'],
    why: 'rules, ranking, compiler, tries, geo answers; the lookup is data-plane, the compiler build-side',
  },
  rrl: { allowed: ['zone', 'net'], why: 'response rate limiting: buckets, slip, exemptions (pure, no clock)' },
  cookie: { allowed: ['net'], why: 'DNS cookies: RFC 7873 decisions, RFC 9018 server cookies (pure, no clock)' },
  dnssec: { allowed: ['zone', 'wire', 'errors'], why: 'signing core (issue 16): pure functions over wire bytes' },
  query: {
    allowed: ['wire', 'ecs', 'zone', 'policy', 'rrl', 'cookie', 'util', 'build/runtime.ts:type'],
    why: 'handleQuery and the per-listener QueryContext: bytes in, bytes out; consults the cookie and RRL cores',
  },
  transport: {
    allowed: ['wire', 'net', 'util', 'errors'],
    why: 'sockets; takes a handler, never imports the query path; per-network TCP caps need net/',
  },
  // Build side: config -> snapshot -> runtime.
  'build/config': { allowed: ['zone/types.ts', 'util', 'errors'], why: 'the config language: schema, loader, salvage' },
  build: {
    allowed: [
      'build/config',
      'zone',
      'wire',
      'policy',
      'geo',
      'health',
      'rrl',
      'cookie',
      'net',
      'util',
      'errors',
      'dnssec',
    ],
    why: 'snapshot (split by concern), compile worker, change guard, runtime; RRL and cookie settings checked',
  },
  // Control side.
  inspect: {
    allowed: ['build', 'query', 'policy', 'zone', 'wire', 'ecs', 'geo', 'health', 'net', 'util', 'errors'],
    why: 'explain, simulate, maps: the real query path plus the reasons',
  },
  observability: {
    allowed: ['build:type', 'health:type', 'policy:type', 'query', 'net', 'util', 'errors'],
    why: 'metrics as specs, sampled query log',
  },
  'plane/fleet': {
    allowed: ['build/config', 'health:type', 'util', 'errors'],
    why: 'fleet core over NATS (issue 14): only the control plane imports it',
  },
  plane: {
    allowed: [
      'plane/fleet',
      'build',
      'build/config',
      'inspect',
      'observability',
      'query',
      'transport',
      'rrl',
      'cookie',
      'policy',
      'health',
      'geo',
      'wire',
      'net',
      'util',
      'errors',
    ],
    why: 'the server: data-plane wiring, control plane, cluster, admin HTTP, reload',
  },
  cli: {
    allowed: ['plane', 'inspect', 'build', 'build/config', 'geo', 'net', 'util', 'errors'],
    why: 'the command line; nothing imports it',
  },
  'cli.ts': { allowed: ['cli'], why: 'the executable (dist/cli.js): calls cli/program.ts' },
};

/** Files on the query path: no module-level `let`/`var`, no objects made at load but read-only tables. */
export const HOT_PATH = [
  'query/',
  'wire/',
  'ecs/',
  'transport/',
  'zone/lookup.ts',
  'zone/answers.ts',
  'zone/dname.ts',
  'zone/name-table.ts',
  'policy/trie.ts',
  'policy/geo-answer.ts',
  'util/hll.ts',
  'rrl/',
  'cookie/',
];

/** Module-level values on the query path that are allowed because nothing writes them after load. */
export const READ_ONLY_TABLES: Record<string, string> = {
  'query/counters.ts QTYPE_SLOT': 'qtype -> counter slot, filled once at load',
  'ecs/subnet.ts UNKNOWN': 'the 0.0.0.0 address of an unreadable source; never written',
  'zone/answers.ts NO_BYTES': 'an empty section',
  'transport/udp-batch.ts addon': 'the native addon, loaded once',
};

export interface SourceFile {
  /** Path relative to src/, with forward slashes. */
  rel: string;
  text: string;
}

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
  line: number;
}

/** The room of a file (relative to src/). */
export function roomOf(rel: string): string {
  const parts = rel.split('/');
  if (parts.length === 1) return rel.replace(/\.ts$/, '') === 'cli' ? 'cli.ts' : rel.replace(/\.ts$/, '');
  if (parts.length > 2 && `${parts[0]}/${parts[1]}` in ROOMS) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

/** Every relative import and re-export of a file, resolved to a path relative to src/. */
export function importsOf(file: SourceFile): ImportEdge[] {
  const out: ImportEdge[] = [];
  const re = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.{1,2}\/[^']+)'/gms;
  for (const m of file.text.matchAll(re)) {
    const spec = m[2];
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.rel), spec)).replace(/\.js$/, '.ts');
    // `import { type A, type B }` is type-only too.
    const clause = m[0].slice(0, m[0].lastIndexOf(' from '));
    const braces = /\{([^}]*)\}/.exec(clause);
    const allTypes =
      braces !== null &&
      !/^import\s+\w+\s*,/.test(clause) &&
      braces[1]
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .every((x) => x.startsWith('type '));
    out.push({
      from: file.rel,
      to: target,
      typeOnly: m[1] !== undefined || allTypes,
      line: file.text.slice(0, m.index).split('\n').length,
    });
  }
  return out;
}

/** Why `edge` breaks the rules, or null when it is allowed. */
export function violation(edge: ImportEdge): string | null {
  const from = roomOf(edge.from);
  const to = roomOf(edge.to);
  if (from === to) return null;
  const rules = ROOMS[from];
  if (!rules) return `src/${edge.from} is in no known room (add "${from}" to test/architecture/rules.ts)`;
  if (!ROOMS[to]) return `src/${edge.to} is in no known room`;
  const toFile = edge.to.slice(to.length + 1);
  for (const a of rules.allowed) {
    const [what, kind] = a.split(':');
    if (kind === 'type' && !edge.typeOnly) continue;
    if (what === to || (what.endsWith('.ts') && what === `${to}/${toFile}`)) return null;
  }
  const allowed = rules.allowed.length ? rules.allowed.join(', ') : 'nothing';
  return `src/${edge.from}:${edge.line} imports src/${edge.to}${edge.typeOnly ? ' (type)' : ''}: ${from}/ may import only ${allowed}`;
}

/** Module-level mutable state in a query-path file: top-level let/var, or objects made at load. */
export function moduleState(file: SourceFile): string[] {
  if (!HOT_PATH.some((p) => file.rel === p || (p.endsWith('/') && file.rel.startsWith(p)))) return [];
  const out: string[] = [];
  file.text.split('\n').forEach((line, i) => {
    // let/var at the top level, or a const holding an object made at load (new ...): both can change per query.
    // Constant tables written as literals (`as const` enums) are not state.
    const m =
      /^(?:export\s+)?(let|var)\s+(\w+)/.exec(line) ?? /^(?:export\s+)?(const)\s+(\w+)\b[^=]*=\s*new\s/.exec(line);
    if (!m) return;
    if (`${file.rel} ${m[2]}` in READ_ONLY_TABLES) return;
    out.push(`src/${file.rel}:${i + 1}: module-level ${m[1]} ${m[2]}`);
  });
  return out;
}

/** Every .ts file under `srcDir`. */
export function sourceFiles(srcDir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const full = path.join(dir, f);
      if (statSync(full).isDirectory()) walk(full);
      else if (f.endsWith('.ts'))
        out.push({ rel: path.relative(srcDir, full).split(path.sep).join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  walk(srcDir);
  return out;
}
