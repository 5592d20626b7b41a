/**
 * Special-purpose ranges (RFC 6890 registries) that explain names: private,
 * loopback, documentation, multicast..., and ordinary space that is none.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/net/ip.js';
import { specialRange } from '../../../src/policy/special-ranges.js';
import { explain, formatExplain } from '../../../src/inspect/explain.js';
import { explainContextFromFile } from '../../../src/inspect/explain-context.js';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { testConfig } from '../../helpers/configs.js';
import { tempDir } from '../../helpers/server.js';

describe('specialRange', () => {
  it.each([
    ['10.1.2.0/24', '10.0.0.0/8', /private-use \(RFC 1918\)/],
    ['192.168.1.0/24', '192.168.0.0/16', /private-use/],
    ['172.31.0.0/16', '172.16.0.0/12', /private-use/],
    ['100.64.1.0/24', '100.64.0.0/10', /carrier-grade NAT/],
    ['127.0.0.1/32', '127.0.0.0/8', /loopback/],
    ['198.51.100.0/24', '198.51.100.0/24', /documentation/],
    ['239.1.1.0/24', '224.0.0.0/4', /multicast/],
    ['fd12:3456::/48', 'fc00::/7', /unique local/],
    ['2001:db8:1::/48', '2001:db8::/32', /documentation \(RFC 3849\)/],
    ['fe80::/64', 'fe80::/10', /link-local/],
  ])('%s is in %s', (client, range, what) => {
    const hit = specialRange(parsePrefix(client));
    expect(hit?.range).toBe(range);
    expect(hit?.what).toMatch(what);
  });

  it.each(['6.0.1.0/24', '1.1.1.0/24', '2a01:4f8::/32', '8.0.0.0/8'])('%s is ordinary space', (client) => {
    expect(specialRange(parsePrefix(client))).toBeNull();
  });

  it('a prefix wider than the range is not "in" it', () => {
    expect(specialRange(parsePrefix('10.0.0.0/7'))).toBeNull();
  });
});

describe('explain names private and reserved clients', () => {
  it('a private client: noted in the result and the text, decided by the fallback', () => {
    const dir = tempDir();
    const file = path.join(dir, 'meridian.yaml');
    writeFileSync(file, testConfig());
    try {
      const ctx = explainContextFromFile(file);
      const r = explain(ctx, 'cdn.example.net', 'A', '10.1.2.0/24');
      expect(r.special).toEqual({ range: '10.0.0.0/8', what: 'private-use (RFC 1918)' });
      expect(r.step?.kind).toBe('fallback');
      expect(formatExplain(r)).toMatch(
        /note: 10\.1\.2\.0\/24 is in 10\.0\.0\.0\/8, private-use \(RFC 1918\): no geo database places it, so the policy decides as for an unknown client/,
      );
      expect(explain(ctx, 'cdn.example.net', 'A', '6.0.1.0/24').special).toBeUndefined();
      // The fixture database does place 127.0.0.0/8 (in Berlin): the note names the range only.
      const loopback = explain(ctx, 'cdn.example.net', 'A', '127.0.0.0/24');
      expect(loopback.special?.range).toBe('127.0.0.0/8');
      expect(formatExplain(loopback)).toMatch(/note: 127\.0\.0\.0\/24 is in 127\.0\.0\.0\/8, loopback \(RFC 1122\)\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
