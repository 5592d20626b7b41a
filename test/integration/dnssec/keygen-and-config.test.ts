/**
 * `meridian keygen` and the `dnssec:` config section: the CLI writes a BIND
 * key pair (private file 0600) that the config loads; a private key others
 * can read, a missing key directory, a key of another zone and a validity
 * policy that cannot work are config errors at file:line:column of the key
 * they concern; bad options are usage errors (exit 2).
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSnapshotFromFile } from '../../../src/build/snapshot.js';
import { check } from '../../../src/cli/check.js';
import { loadKeyPair } from '../../../src/dnssec/key-files.js';
import { dsRdata } from '../../../src/dnssec/ds.js';
import { formatDs } from '../../../src/dnssec/presentation.js';
import { ConfigError } from '../../../src/errors.js';
import { makeKeys, signedConfig } from '../../helpers/dnssec.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/server.js';

function issuesOf(file: string): string[] {
  try {
    buildSnapshotFromFile(file);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.line}:${i.column}: ${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('meridian keygen', () => {
  it('writes a CSK pair (.private 0600) that loads, and prints its DNSKEY and DS', async () => {
    const dir = tempDir();
    const r = await cli(['keygen', '--zone', 'example.net', '--directory', dir]);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^Kexample\.net\.\+013\+\d{5}\.key$/);
    const priv = path.join(dir, files[1]);
    expect(statSync(priv).mode & 0o777).toBe(0o600);
    const key = loadKeyPair(path.join(dir, files[0]));
    expect(key.flags).toBe(257);
    expect(r.stdout).toContain(`example.net. IN DS ${formatDs(dsRdata(key.zoneWire, key.dnskey, 2))}`);
    expect(r.stdout).toMatch(/example\.net\. IN DNSKEY 257 3 13 /);
  });

  it('writes a ZSK with ED25519 (no DS printed)', async () => {
    const dir = tempDir();
    const r = await cli(['keygen', '-z', 'example.net.', '-r', 'zsk', '-a', 'ED25519', '-d', dir]);
    expect(r.code, r.stderr).toBe(0);
    const keyFile = readdirSync(dir).find((f) => f.endsWith('.key'))!;
    expect(keyFile).toMatch(/\+015\+/);
    expect(loadKeyPair(path.join(dir, keyFile)).flags).toBe(256);
    expect(r.stdout).not.toContain(' DS ');
  });

  it('refuses an algorithm it cannot sign with, and a role it does not know (exit 2)', async () => {
    const bad = await cli(['keygen', '-z', 'example.net', '-a', '8', '-d', tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--algorithm must be 13 \(ECDSAP256SHA256\) or 15 \(ED25519\)/);
    const role = await cli(['keygen', '-z', 'example.net', '-r', 'kzk', '-d', tempDir()]);
    expect(role.code).toBe(2);
  });
});

describe('dnssec: in the config', () => {
  it('loads a zone signed by the keys of a directory (DNSKEY, CDS and CDNSKEY added at the apex)', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'keys'));
    makeKeys(path.join(dir, 'keys'), ['ksk', 'zsk']);
    const file = path.join(dir, 'meridian.yaml');
    writeFileSync(file, signedConfig('keys'));
    const s = buildSnapshotFromFile(file);
    const signed = s.dnssec[0]!;
    expect(s.dnssec[1]).toBeNull();
    expect(signed.keys.map((k) => k.flags).sort()).toEqual([256, 257]);
    expect(signed.validity).toEqual({ lifetime: 14 * 86400, refresh: 7 * 86400, inceptionOffset: 3600, jitter: 86400 });
    const apexTypes = s.zones[0].records.filter((r) => r.name === 'example.net').map((r) => r.type);
    expect(apexTypes).toEqual(expect.arrayContaining(['SOA', 'NS', 'TYPE48', 'TYPE59', 'TYPE60']));
    expect(signed.rrsigs['www.example.net|1']).toHaveLength(1); // the ZSK signs data
    expect(signed.rrsigs['example.net|48']).toHaveLength(1); // the KSK signs DNSKEY
    expect(signed.rrsigs['sub.example.net|2']).toBeUndefined(); // delegation NS is the child's
    expect(signed.rrsigs['ns1.sub.example.net|1']).toBeUndefined(); // glue is not signed
    expect(signed.nsec['x.ent.example.net']).toHaveLength(2);
    expect(signed.nsec['ent.example.net']).toHaveLength(2); // empty non-terminal
    // meridian check says what it signed with.
    const lines: string[] = [];
    expect(check(file, (l) => lines.push(l))).toBe(0);
    expect(lines.find((l) => l.includes('dnssec:'))).toMatch(
      /^ {2}dnssec: {4}example\.net: (KSK\/CSK|ZSK) \d+ alg 13, (KSK\/CSK|ZSK) \d+ alg 13; \d+ signatures in \d+ ms, re-signed from /,
    );
  });

  it('refuses a private key readable by others, at the keys line', () => {
    const dir = tempDir();
    const [key] = makeKeys(dir);
    chmodSync(key.privateFile, 0o644);
    const file = path.join(dir, 'meridian.yaml');
    writeFileSync(file, signedConfig(path.basename(key.keyFile)));
    const issues = issuesOf(file);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^\d+:\d+: zones\[0\]\.dnssec\.keys: .*mode 0644, readable or writable by group or others.*chmod 600/,
    );
  });

  it('reports an empty key directory, a key of another zone and an impossible validity', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'empty'));
    const other = makeKeys(dir, ['csk'], 13, 'example.com')[0];
    const file = path.join(dir, 'meridian.yaml');
    writeFileSync(file, signedConfig('empty'));
    expect(issuesOf(file).join('\n')).toMatch(/zones\[0\]\.dnssec\.keys: no key files for example\.net in .*empty/);
    writeFileSync(file, signedConfig(path.basename(other.keyFile)));
    expect(issuesOf(file).join('\n')).toMatch(/is a key of example\.com, not of example\.net/);
    makeKeys(dir);
    writeFileSync(file, signedConfig('.', { zoneExtra: '\n      validity: { lifetime: 2d, refresh: 3d }' }));
    expect(issuesOf(file).join('\n')).toMatch(
      /zones\[0\]\.dnssec\.validity: refresh \(259200 s\) plus jitter \(86400 s\) must be less than the lifetime \(172800 s\)/,
    );
  });
});
