/**
 * `meridian check`: check() in-process and the CLI (exit codes 0/1) on the
 * default config and on broken fixtures in test/fixtures/configs/, each
 * reported as `file:line:column: path: message` at the offending YAML node.
 * Positions were counted by hand in the fixture files.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { check } from '../../../src/cli/check.js';
import { cli } from '../../helpers/cli.js';
import { ROOT } from '../../helpers/server.js';

const DIR = path.join(ROOT, 'test', 'fixtures', 'configs');
/** src/cli/program.ts DEFAULT_CONFIG (the embedded config). */
const DEFAULT_CONFIG = path.join(ROOT, 'config', 'meridian.yaml');
const fixture = (name: string) => path.join(DIR, name);

function runCheck(file: string): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = check(
    file,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

interface Broken {
  file: string;
  what: string;
  line: number;
  column: number;
  path: string;
  /** The exact message, or a pattern when it holds machine-specific paths. */
  message: string | RegExp;
}

const BROKEN: Broken[] = [
  {
    file: 'yaml-syntax-error.yaml',
    what: 'YAML syntax error (duplicate key)',
    line: 7,
    column: 3,
    path: '',
    message: 'YAML: Map keys must be unique',
  },
  {
    file: 'unknown-top-level-key.yaml',
    what: 'unknown top-level key',
    line: 7,
    column: 1,
    path: 'monitoring',
    message: 'unknown key "monitoring"',
  },
  {
    file: 'unknown-pop-in-rule.yaml',
    what: 'unknown PoP in a rule',
    line: 10,
    column: 30,
    path: 'policies.nearest.steps[0].country.DE[1]',
    message: 'unknown PoP "ams"',
  },
  {
    file: 'bad-cidr-host-bits.yaml',
    what: 'CIDR with host bits (reported at the CIDR key)',
    line: 11,
    column: 11,
    path: 'policies.nearest.steps[0].cidr["10.1.2.3/8"]',
    message: "'10.1.2.3/8' has host bits set past /8",
  },
  {
    file: 'policy-without-steps.yaml',
    what: 'policy with no steps',
    line: 9,
    column: 12,
    path: 'policies.nearest.steps',
    message: 'Too small: expected array to have >=1 items',
  },
  {
    file: 'unknown-policy.yaml',
    what: 'geo record naming an unknown policy',
    line: 19,
    column: 22,
    path: 'zones[0].geo.cdn.policy',
    message: 'unknown policy "closest" (known: nearest)',
  },
  {
    file: 'cname-and-other-data.yaml',
    what: 'CNAME plus other data (reported at the offending owner)',
    line: 18,
    column: 7,
    path: 'zones[0].records.alias',
    message: 'alias.example.net has a CNAME and other data (RFC 1034 3.6.2)',
  },
  {
    file: 'record-outside-zone.yaml',
    what: 'record outside the zone (reported at the offending owner)',
    line: 18,
    column: 7,
    path: 'zones[0].records["www.example.org."]',
    message: 'www.example.org A is outside zone example.net',
  },
  {
    file: 'bad-ipv4.yaml',
    what: 'bad IPv4 address in a PoP',
    line: 6,
    column: 47,
    path: 'pops.lon.ipv4[0]',
    message: '"192.0.2.300" is not an IPv4 address',
  },
  {
    file: 'missing-soa.yaml',
    what: 'zone without SOA',
    line: 12,
    column: 5,
    path: 'zones[0]',
    message: 'zone has no SOA (give soa: or a zone file with one)',
  },
  {
    file: 'unreadable-database.yaml',
    what: 'geo database that cannot be read',
    line: 4,
    column: 7,
    path: 'geo.databases[0]',
    message: new RegExp(`^${escapeRegExp(fixture('no-such-database.mmdb'))}: cannot read: ENOENT`),
  },
  {
    file: 'health-timeout.yaml',
    what: 'health timeout >= interval',
    line: 8,
    column: 60,
    path: 'pops.fra.health.timeout',
    message: 'timeout (2s) must be shorter than interval (2s)',
  },
  {
    file: 'zone-file-error.yaml',
    what: 'zone file with an error on line 9',
    line: 13,
    column: 11,
    path: 'zones[0].file',
    message: `${fixture('broken.zone')}:9: bad IPv4 address '198.51.100.256'`,
  },
];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Split "file:line:column: path: message" (path absent for YAML errors). */
function parseLine(l: string): { file: string; line: number; column: number; rest: string } {
  const m = /^(.*?):(\d+):(\d+): (.*)$/.exec(l);
  if (!m) throw new Error(`not a file:line:column line: ${l}`);
  return { file: m[1], line: Number(m[2]), column: Number(m[3]), rest: m[4] };
}

describe('check() on the default config', () => {
  it('prints an OK summary and returns 0 (the CLI exits 0 with the same summary)', async () => {
    // The CLI compiles the same config in a child process meanwhile.
    const spawned = cli(['check']);
    const r = runCheck(DEFAULT_CONFIG);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe(`${DEFAULT_CONFIG}: OK`);
    expect(r.out).toContainEqual(expect.stringMatching(/^ {2}zones: +example\.net \(\d+ static records\)$/));
    expect(r.out).toContainEqual(expect.stringMatching(/^ {2}geo: +.*cdn\.example\.net \(A\/AAAA, policy nearest\)/));
    expect(r.out).toContainEqual('  pops:      11 (fra lon iad sjc dfw gru jnb bom sin nrt syd)');
    expect(r.out.filter((l) => l.startsWith('  database:'))).toHaveLength(2);
    expect(r.out.filter((l) => l.startsWith('  database:')).join('\n')).toMatch(
      /dbip-city-ipv4\.mmdb[\s\S]*dbip-city-ipv6\.mmdb/,
    );
    expect(r.out).toContainEqual(expect.stringMatching(/^ {2}policy: +nearest: \d+ decisions/));
    expect(r.out.at(-1)).toMatch(/^ {2}compiled in \d+ ms$/);

    const c = await spawned;
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout.split('\n')[0]).toBe(`${DEFAULT_CONFIG}: OK`);
  }, 120_000);
});

describe('check() on broken configs: one `file:line:column: path: message` line each, then the count; returns 1', () => {
  it.each(BROKEN)('$what ($file)', (b) => {
    const file = fixture(b.file);
    const r = runCheck(file);
    expect(r.out).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(2);
    expect(r.err[1]).toBe(`${file}: 1 problem`);
    const got = parseLine(r.err[0]);
    expect({ file: got.file, line: got.line, column: got.column }).toEqual({ file, line: b.line, column: b.column });
    const expectedPrefix = b.path ? `${b.path}: ` : '';
    expect(got.rest.startsWith(expectedPrefix), `"${got.rest}" starts with path "${b.path}"`).toBe(true);
    const message = got.rest.slice(expectedPrefix.length);
    if (typeof b.message === 'string') {
      expect(r.err[0]).toBe(`${file}:${b.line}:${b.column}: ${expectedPrefix}${b.message}`);
    } else {
      expect(message).toMatch(b.message);
    }
  });

  it('a policy that can never name a PoP (nearest over [] and an empty fallback) is rejected at its empty PoP list', () => {
    // Accepting it would answer every client of cdn.example.net with NOERROR and no address.
    const file = fixture('policy-references-no-pop.yaml');
    const r = runCheck(file);
    expect(r.code, `check accepted it:\n${r.out.join('\n')}`).toBe(1);
    expect(r.out).toEqual([]);
    const issues = r.err.slice(0, -1).map(parseLine);
    expect(issues.length).toBeGreaterThanOrEqual(1);
    // The empty `pops: []` of the nearest step (line 10, column 26); the empty fallback may be reported too.
    expect(issues.map((i) => `${i.line}:${i.column} ${i.rest.split(': ')[0]}`)).toContainEqual(
      '10:26 policies.nearest.steps[0].nearest.pops',
    );
    for (const i of issues) expect(i.rest).toMatch(/^policies\.nearest/);
  });
});

describe('the CLI: `meridian check --config FILE`', () => {
  it('exits 1 and prints the problems on stderr for broken configs', async () => {
    const picks = [BROKEN[0], BROKEN[2], BROKEN[BROKEN.length - 1]];
    const runs = await Promise.all(picks.map((b) => cli(['check', '--config', fixture(b.file)])));
    runs.forEach((c, i) => {
      const b = picks[i];
      const file = fixture(b.file);
      expect(c.code, b.file).toBe(1);
      expect(c.stdout).toBe('');
      const lines = c.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(`${file}:${b.line}:${b.column}: ${b.path ? `${b.path}: ` : ''}${b.message as string}`);
      expect(lines[1]).toBe(`${file}: 1 problem`);
    });
  }, 120_000);

  it('a relative --config is reported as an absolute path', async () => {
    const c = await cli(['check', '--config', path.relative(ROOT, fixture('bad-ipv4.yaml'))]);
    expect(c.code).toBe(1);
    expect(c.stderr.split('\n')[0]).toBe(
      `${fixture('bad-ipv4.yaml')}:6:47: pops.lon.ipv4[0]: "192.0.2.300" is not an IPv4 address`,
    );
  }, 60_000);

  it('a missing config file exits 1 with a file:1:1 line', async () => {
    const missing = fixture('does-not-exist.yaml');
    const c = await cli(['check', '--config', missing]);
    expect(c.code).toBe(1);
    expect(c.stderr.split('\n')[0]).toMatch(new RegExp(`^${escapeRegExp(missing)}:1:1: cannot read: ENOENT`));
  }, 60_000);
});
