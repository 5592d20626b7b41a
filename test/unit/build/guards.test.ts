/**
 * build/guards.ts: the rrl: and cookies: sections as the snapshot carries
 * them. Secrets from the file or the environment, every problem reported at
 * its file:line:column, and a secret's value never in a message.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText, reporter } from '../../../src/build/config/load.js';
import { resolveGuards } from '../../../src/build/guards.js';
import type { ConfigIssue } from '../../../src/errors.js';

const FILE = '/etc/meridian/meridian.yaml';
const ZONES =
  'zones:\n  - origin: example.net.\n    soa: { mname: ns1, rname: h@example.net, serial: 1 }\n    ns: [ns1]\n';
const SECRET = '000102030405060708090a0b0c0d0e0f';

function guards(section: string, env: NodeJS.ProcessEnv = {}) {
  const loaded = parseConfigText(`${section}${ZONES}`, FILE);
  const issues: ConfigIssue[] = [];
  const settings = resolveGuards(loaded.config, reporter(loaded.locate, issues), env);
  return { settings, issues: issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`) };
}

describe('rrl settings', () => {
  it('defaults: on at 200/s, window 15, slip 2, /24 and /56, loopback exempt, 131072 buckets', () => {
    const { settings, issues } = guards('');
    expect(issues).toEqual([]);
    expect(settings.rrl).toMatchObject({
      responsesPerSecond: 200,
      windowSeconds: 15,
      slip: 2,
      ipv4PrefixLength: 24,
      ipv6PrefixLength: 56,
      logOnly: false,
      tableSize: 131072,
    });
    expect(settings.rrl!.exempt.map((p) => [p.family, p.length])).toEqual([
      [4, 8],
      [6, 128],
    ]);
  });

  it('enabled: false gives no limiter', () => {
    expect(guards('rrl: { enabled: false }\n').settings.rrl).toBeNull();
  });

  it('a bad exempt prefix is reported where it is written', () => {
    const { issues } = guards('rrl:\n  exempt: ["192.0.2.0/24", "10.0.0.1/8"]\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^2:28 rrl\.exempt\[1\]: .*host bits/);
  });
});

describe('cookie settings', () => {
  it('defaults: on, not required, no secret (the process tree draws one)', () => {
    expect(guards('').settings.cookies).toEqual({ require: false, secret: null, previousSecret: null });
  });

  it('secrets from the file and from the environment', () => {
    const fromFile = guards(`cookies: { secret: "${SECRET}" }\n`).settings.cookies!;
    expect(Buffer.from(fromFile.secret!).toString('hex')).toBe(SECRET);
    const env = { MY_SECRET: SECRET.toUpperCase(), MY_OLD: 'ff'.repeat(16) };
    const fromEnv = guards('cookies: { secret_env: MY_SECRET, previous_secret_env: MY_OLD }\n', env).settings.cookies!;
    expect(Buffer.from(fromEnv.secret!).toString('hex')).toBe(SECRET);
    expect(Buffer.from(fromEnv.previousSecret!).toString('hex')).toBe('ff'.repeat(16));
  });

  it('problems are located and never echo a secret', () => {
    const wrong = 'abcdef'; // too short, in the environment
    const cases: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
      ['cookies: { secret_env: UNSET_VAR }\n', {}, /1:24 cookies\.secret_env: names UNSET_VAR, which is not set/],
      [
        'cookies: { secret_env: SHORT }\n',
        { SHORT: wrong },
        /cookies\.secret_env: \$SHORT: a cookie secret is 32 hex digits/,
      ],
      [
        `cookies: { secret: "${SECRET}", secret_env: X }\n`,
        { X: SECRET },
        /cookies\.secret_env: give secret or secret_env/,
      ],
      [
        `cookies: { previous_secret: "${SECRET}" }\n`,
        {},
        /cookies\.previous_secret: a previous secret needs a current one/,
      ],
    ];
    for (const [text, env, re] of cases) {
      const { issues } = guards(text, env);
      expect(issues, text).toHaveLength(1);
      expect(issues[0], text).toMatch(re);
      expect(issues[0]).not.toContain(wrong);
      expect(issues[0]).not.toContain(SECRET);
    }
  });

  it('a malformed secret in the file is a schema error that does not echo it', () => {
    const bad = 'not-a-secret-0123456789abcdefXYZ';
    expect(() => guards(`cookies: { secret: "${bad}" }\n`)).toThrow(/32 hex digits/);
    try {
      guards(`cookies: { secret: "${bad}" }\n`);
    } catch (err) {
      expect(String(err)).not.toContain(bad);
    }
  });
});
