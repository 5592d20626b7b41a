/**
 * Config loading (src/build/config/load.ts): every problem is a ConfigIssue with the
 * exact file:line:column of the offending YAML node and a readable path.
 * Texts are inline; positions are 1-based and were counted by hand.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPath, loadConfigFile, parseConfigText } from '../../../../src/build/config/load.js';
import { ConfigError, formatIssue, type ConfigIssue } from '../../../../src/errors.js';

const FILE = 'cfg/meridian.yaml';
const ZONES = 'zones:\n  - origin: example.net.\n';

/** The issues parseConfigText throws for `text` (fails the test if it does not throw a ConfigError). */
function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfigText(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('MERIDIAN_ERR_CONFIG');
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

/** The issues as "line:column path" for compact comparison. */
const where = (issues: ConfigIssue[]) => issues.map((i) => `${i.line}:${i.column} ${i.path}`);

describe('YAML syntax errors', () => {
  it.each([
    // [name, text, line, column, message fragment]
    ['tab indentation', 'zones:\n\t- origin: x\n', 2, 1, 'Tabs are not allowed'],
    [
      'duplicate key (reported at the second one)',
      'zones: []\nserver: {}\nzones: []\n',
      3,
      1,
      'Map keys must be unique',
    ],
    [
      'nested mapping in a compact value',
      'server:\n  identity: a: b\nzones: []\n',
      2,
      13,
      'Nested mappings are not allowed',
    ],
  ])('%s', (_name, text, line, column, message) => {
    const issues = issuesOf(text);
    expect(issues[0]).toEqual({ file: FILE, line, column, path: '', message: expect.stringContaining(message) });
    expect(issues[0].message).toMatch(/^YAML: /);
    // One line per issue, no multi-line code frames in the message.
    for (const i of issues) expect(i.message).not.toContain('\n');
  });
});

describe('schema errors: position of the offending node and its path', () => {
  it.each([
    ['unknown top-level key', `${ZONES}bogus: 1\n`, '3:1 bogus', 'unknown key "bogus"'],
    [
      'unknown key in server',
      `server:\n  listen: ["127.0.0.1:53"]\n  bogus: 1\n${ZONES}`,
      '3:3 server.bogus',
      'unknown key "bogus"',
    ],
    [
      'unknown key in a zone',
      'zones:\n  - origin: example.net.\n    bogus2: y\n',
      '3:5 zones[0].bogus2',
      'unknown key "bogus2"',
    ],
    [
      'unknown key in a PoP health check (flow map)',
      `pops:\n  fra:\n    location: [50, 8]\n    health: { type: http, intervall: 5s }\n${ZONES}`,
      '4:27 pops.fra.health.intervall',
      'unknown key "intervall"',
    ],
    [
      'wrong type: string for a number',
      `server:\n  udp_max_payload: "big"\n${ZONES}`,
      '2:20 server.udp_max_payload',
      'expected number',
    ],
    ['wrong type: scalar for the zone list', 'zones: example.net\n', '1:8 zones', 'expected array'],
    ['wrong type: sequence for the PoP map', `pops: [fra]\n${ZONES}`, '1:7 pops', 'expected record'],
    ['number out of range', `server:\n  udp_max_payload: 100\n${ZONES}`, '2:20 server.udp_max_payload', '>=512'],
    [
      'negative TTL in a geo record',
      'zones:\n  - origin: example.net.\n    geo:\n      cdn: { policy: p, ttl: -1 }\n',
      '4:30 zones[0].geo.cdn.ttl',
      '>=0',
    ],
    [
      'health enum',
      `pops:\n  fra:\n    location: [50, 8]\n    health:\n      type: icmp\n${ZONES}`,
      '5:13 pops.fra.health.type',
      '',
    ],
    ['empty zone list', 'zones: []\n', '1:8 zones', '>=1'],
  ])('%s', (_name, text, expected, message) => {
    const issues = issuesOf(text);
    expect(where(issues)).toEqual([expected]);
    expect(issues[0].file).toBe(FILE);
    expect(issues[0].message).toContain(message);
  });

  it('missing zones: reported at the start of the document (after comments)', () => {
    const issues = issuesOf('# a comment\n\nserver:\n  identity: x\n');
    expect(issues).toEqual([
      { file: FILE, line: 3, column: 1, path: 'zones', message: expect.stringMatching(/expected array/) },
    ]);
  });

  it('missing zones in an empty file: 1:1', () => {
    expect(where(issuesOf(''))).toEqual(['1:1 zones']);
  });

  it.each([
    [
      'a unit the parser does not know',
      `server:\n  tcp:\n    idle_timeout: 10 seconds\n${ZONES}`,
      '3:19 server.tcp.idle_timeout',
    ],
    ['no unit', `health:\n  defaults:\n    timeout: fast\n${ZONES}`, '3:14 health.defaults.timeout'],
    [
      'in a flow map',
      `pops:\n  fra:\n    location: [50, 8]\n    health: { type: http, interval: 5x }\n${ZONES}`,
      '4:37 pops.fra.health.interval',
    ],
  ])('bad duration (%s): position, path and a message saying what a duration looks like', (_name, text, expected) => {
    const issues = issuesOf(text);
    expect(where(issues)).toEqual([expected]);
    // The schema's own message ("expected a duration like 500ms, 5s or 2m"), not a bare "Invalid input".
    expect(issues[0].message).toMatch(/duration/);
  });

  it('a negative duration number is out of range', () => {
    const issues = issuesOf(`health:\n  defaults:\n    timeout: -1\n${ZONES}`);
    expect(where(issues)).toEqual(['3:14 health.defaults.timeout']);
    expect(issues[0].message).toContain('>=0');
  });

  it('an invalid PoP id is reported at the key, with the id rule in the message', () => {
    const issues = issuesOf(`pops:\n  FRA:\n    location: [50, 8]\n${ZONES}`);
    expect(where(issues)).toEqual(['2:3 pops.FRA']);
    expect(issues[0].message).toMatch(/PoP ids/);
  });

  it('every problem is reported, each at its own position', () => {
    const text = 'server:\n  bogus: 1\n  udp_max_payload: 100\nzones:\n  - origin: x\n    bogus2: y\n';
    expect(where(issuesOf(text)).sort()).toEqual([
      '2:3 server.bogus',
      '3:20 server.udp_max_payload',
      '6:5 zones[0].bogus2',
    ]);
  });

  it('ConfigError message: one "file:line:column: path: message" line per issue', () => {
    let err: ConfigError | null = null;
    try {
      parseConfigText('server:\n  bogus: 1\nzones:\n  - origin: x\n    bogus2: y\n', FILE);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message.split('\n').sort()).toEqual([
      'cfg/meridian.yaml:2:3: server.bogus: unknown key "bogus"',
      'cfg/meridian.yaml:5:5: zones[0].bogus2: unknown key "bogus2"',
    ]);
    // Issues without a path (YAML errors) have no empty path segment.
    expect(formatIssue({ file: 'f', line: 1, column: 2, path: '', message: 'YAML: x' })).toBe('f:1:2: YAML: x');
  });
});

describe('valid configs', () => {
  it('parses durations and fills defaults', () => {
    const text = `server:
  tcp: { idle_timeout: 500ms }
health:
  defaults: { interval: 2m, timeout: 5 }
pops:
  fra: { location: [50.1, 8.6], ipv4: [192.0.2.1], health: { type: tcp, interval: 1.5s } }
${ZONES}`;
    const loaded = parseConfigText(text, FILE);
    const c = loaded.config;
    expect(c.server.tcp.idle_timeout).toBe(0.5);
    expect(c.health.defaults.interval).toBe(120);
    expect(c.health.defaults.timeout).toBe(5);
    expect(c.pops.fra.health?.interval).toBe(1.5);
    expect(c.pops.fra.location).toEqual({ lat: 50.1, lon: 8.6 });
    expect(c.server.udp_max_payload).toBe(1232);
    expect(c.admin.listen).toBe('127.0.0.1:9153');
    expect(c.zones[0].ttl).toBe(3600);
    expect(loaded.hash).toBe(createHash('sha256').update(text).digest('hex'));
    expect(path.isAbsolute(loaded.dir)).toBe(true);
    expect(loaded.dir).toBe(path.resolve('cfg'));
  });

  it('the locator maps later cross-reference issues to positions (deepest existing node)', () => {
    const text = `pops:\n  fra: { location: [50, 8], ipv4: [192.0.2.300] }\n${ZONES}`;
    const { locate } = parseConfigText(text, FILE);
    expect(locate(['pops', 'fra', 'ipv4', 0])).toMatchObject({ line: 2, column: 36, path: 'pops.fra.ipv4[0]' });
    // Not in the YAML: the deepest existing ancestor's position, the full path.
    expect(locate(['pops', 'fra', 'health', 'timeout'])).toMatchObject({
      line: 2,
      column: 8,
      path: 'pops.fra.health.timeout',
    });
    // A key of a map: the key's own position.
    expect(locate(['pops', 'fra'], 'ipv4')).toMatchObject({ line: 2, column: 29, path: 'pops.fra.ipv4' });
  });
});

describe('loadConfigFile', () => {
  it('reads a file; an unreadable file is a ConfigError at 1:1', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-load-'));
    try {
      const file = path.join(dir, 'm.yaml');
      writeFileSync(file, `${ZONES}bogus: 1\n`);
      expect(() => loadConfigFile(file)).toThrow(`${file}:3:1: bogus: unknown key "bogus"`);
      const missing = path.join(dir, 'missing.yaml');
      let err: ConfigError | null = null;
      try {
        loadConfigFile(missing);
      } catch (e) {
        err = e as ConfigError;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect(err!.issues).toEqual([
        { file: missing, line: 1, column: 1, path: '', message: expect.stringMatching(/^cannot read: .*ENOENT/) },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('formatPath', () => {
  it.each<[Array<string | number>, string]>([
    [[], ''],
    [['zones'], 'zones'],
    [['zones', 0, 'geo', 'cdn', 'policy'], 'zones[0].geo.cdn.policy'],
    [['pops', 'fra', 'health', 'timeout'], 'pops.fra.health.timeout'],
    [['pops', 'fra-1', 'ipv4', 2], 'pops.fra-1.ipv4[2]'],
    [['policies', 'p', 'steps', 0, 'cidr', '10.0.0.0/8'], 'policies.p.steps[0].cidr["10.0.0.0/8"]'],
    [['zones', 1, 'records', '*.wild', 'A', 0], 'zones[1].records["*.wild"].A[0]'],
    [['zones', 0, 'geo', '@'], 'zones[0].geo["@"]'],
    [['zones', 0, 'records', 'a.b.c'], 'zones[0].records["a.b.c"]'],
    [['zones', 0, 'records', '_sip._tcp'], 'zones[0].records["_sip._tcp"]'],
    [['policies', 'p', 'steps', 0, 'country', 'DE'], 'policies.p.steps[0].country.DE'],
    [['policies', 'p', 'steps', 0, 'asn', '64500'], 'policies.p.steps[0].asn["64500"]'],
    [[0, 'x'], '[0].x'],
    [['with space'], '["with space"]'],
  ])('%j -> %s', (p, expected) => {
    expect(formatPath(p)).toBe(expected);
  });
});
