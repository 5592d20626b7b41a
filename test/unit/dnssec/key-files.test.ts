/**
 * BIND key files without BIND: the text dnssec-keygen 9.18 wrote (kept
 * here verbatim) parses and formats back byte for byte, a private key file
 * readable by group or others is refused with the file named, a mismatched
 * pair or file name is refused, and keygen writes 0600 private files that
 * load again. (test/interop/dnssec-bind.test.ts runs the BIND tools.)
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatKeyFile,
  formatPrivateFile,
  keyFileBase,
  parseKeyFile,
  parsePrivateFile,
} from '../../../src/dnssec/bind-key-text.js';
import { loadKeyPair, writeKeyPair } from '../../../src/dnssec/key-files.js';
import { keygen } from '../../../src/dnssec/keygen.js';
import { DnssecKeyError } from '../../../src/errors.js';

// Written by `dnssec-keygen -a ECDSAP256SHA256 example.com` (BIND 9.18, TZ=UTC).
const BIND_KEY = `; This is a zone-signing key, keyid 63997, for example.com.
; Created: 20261202010332 (Wed Dec  2 01:03:32 2026)
; Publish: 20261202010332 (Wed Dec  2 01:03:32 2026)
; Activate: 20261202010332 (Wed Dec  2 01:03:32 2026)
example.com. IN DNSKEY 256 3 13 HZMgj2k8MNGDGy2Kr+EyQeObU+ITEKlk1rsRzlkXrId6ZLjQvePDs+s/ NfudWCSJ1CoToxTJS2wYt6l/JuvfzQ==
`;
const BIND_PRIVATE = `Private-key-format: v1.3
Algorithm: 13 (ECDSAP256SHA256)
PrivateKey: Ylm+Tdy5tfLaOGFmTBkMJ7H5s4NQQR+YoOR+J/fxw5c=
Created: 20261202010332
Publish: 20261202010332
Activate: 20261202010332
`;
const BASE = 'Kexample.com.+013+63997';

let dir: string;
const savedTz = process.env.TZ;

beforeAll(() => {
  process.env.TZ = 'UTC'; // BIND writes ctime() in local time; the sample was written in UTC
  dir = mkdtempSync(path.join(tmpdir(), 'meridian-keys-'));
});
afterAll(() => {
  process.env.TZ = savedTz;
  rmSync(dir, { recursive: true, force: true });
});

function writePair(base: string, key: string, priv: string, mode = 0o600) {
  writeFileSync(path.join(dir, `${base}.key`), key);
  writeFileSync(path.join(dir, `${base}.private`), priv, { mode });
  chmodSync(path.join(dir, `${base}.private`), mode);
  return path.join(dir, base);
}

describe('BIND key file text', () => {
  it('parses and formats dnssec-keygen output back byte for byte', () => {
    const pub = parseKeyFile(BIND_KEY, 'x.key');
    const priv = parsePrivateFile(BIND_PRIVATE, 'x.private');
    expect(pub.zone).toBe('example.com');
    expect(priv.timing).toEqual({ Created: 1796173412, Publish: 1796173412, Activate: 1796173412 });
    expect(formatKeyFile(pub, priv.timing)).toBe(BIND_KEY);
    expect(formatPrivateFile(priv)).toBe(BIND_PRIVATE);
    expect(keyFileBase('Example.COM', 13, 63997)).toBe(BASE);
    expect(keyFileBase('', 15, 469)).toBe('K.+015+00469');
  });

  it('reads a DNSKEY with TTL, class and parentheses over several lines', () => {
    const pub = parseKeyFile(
      '; c\nExample.COM. 3600 IN DNSKEY 256 3 13 (\n HZMgj2k8MNGDGy2Kr+EyQeObU+ITEKlk1rsRzlkXrId6ZLjQvePDs+s/ ; part\n NfudWCSJ1CoToxTJS2wYt6l/JuvfzQ== )\n',
      'x.key',
    );
    expect(pub).toMatchObject({ zone: 'example.com', ownerText: 'Example.COM.', ttl: 3600 });
    expect(pub.dnskey.equals(parseKeyFile(BIND_KEY, 'y').dnskey)).toBe(true);
  });

  it.each([
    ['', /no DNSKEY record/],
    ['example.com. IN A 192.0.2.1\n', /no DNSKEY|unexpected/],
    ['example.com. IN DNSKEY 256 2 13 AAAA\n', /protocol must be 3/],
    ['example.com. IN DNSKEY 256 3 13 !!!\n', /not base64/],
  ])('a bad .key file %j is an error naming the file', (text, message) => {
    expect(() => parseKeyFile(text, '/keys/Kbad.key')).toThrow(message);
    expect(() => parseKeyFile(text, '/keys/Kbad.key')).toThrow(/^\/keys\/Kbad\.key: /);
  });

  it.each([
    ['Algorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\n', /no 'Private-key-format:' line/],
    ['Private-key-format: v2.0\nAlgorithm: 13\nPrivateKey: AAAA\n', /unsupported Private-key-format/],
    [
      'Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nModulus: AAAA\n',
      /Meridian signs with 13 \(ECDSAP256SHA256\) or 15 \(ED25519\)/,
    ],
    ['Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nLabel: pkcs11:token=x\n', /HSM/],
    [
      'Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\nActivate: 2026\n',
      /line 4: Activate/,
    ],
  ])('a bad .private file is an error: %j', (text, message) => {
    expect(() => parsePrivateFile(text, 'K.private')).toThrow(message);
  });
});

describe('loading key pairs', () => {
  it('loads a BIND pair: zone, flags, tag, timing, key material that matches', () => {
    const k = loadKeyPair(`${writePair(BASE, BIND_KEY, BIND_PRIVATE)}.key`);
    expect(k).toMatchObject({
      zone: 'example.com',
      flags: 256,
      algorithm: 13,
      keyTag: 63997,
      timing: { Activate: 1796173412 },
    });
    expect(k.privateFile.endsWith(`${BASE}.private`)).toBe(true);
  });

  it.each([0o640, 0o604, 0o620, 0o644])('refuses a private key file with mode %s, naming the file', (mode) => {
    const base = writePair(BASE, BIND_KEY, BIND_PRIVATE, mode);
    let err: unknown;
    try {
      loadKeyPair(base);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DnssecKeyError);
    expect((err as DnssecKeyError).code).toBe('MERIDIAN_ERR_DNSSEC_KEY');
    expect((err as Error).message).toContain(`${base}.private: private key file has mode 0${mode.toString(8)}`);
    expect((err as Error).message).toContain('chmod 600');
  });

  it('follows a symbolic link (secret mounts use them) and checks the mode of its target', () => {
    const target = path.join(dir, 'secret-target');
    writeFileSync(target, BIND_PRIVATE, { mode: 0o600 });
    chmodSync(target, 0o600);
    const base = path.join(dir, 'link', BASE);
    mkdirSync(path.dirname(base), { recursive: true });
    writeFileSync(`${base}.key`, BIND_KEY);
    symlinkSync(target, `${base}.private`);
    expect(loadKeyPair(base).keyTag).toBe(63997);
    chmodSync(target, 0o644);
    expect(() => loadKeyPair(base)).toThrow(/private key file has mode 0644/);
  });

  it("refuses a private key that is not the DNSKEY's, and a file name with another tag", () => {
    const other = BIND_PRIVATE.replace(
      'Ylm+Tdy5tfLaOGFmTBkMJ7H5s4NQQR+YoOR+J/fxw5c=',
      'm4ZlXiUKWMba6ecDCTS3ugqdjK+BzCLtwjwcavF+Xk8=',
    );
    expect(() => loadKeyPair(writePair(BASE, BIND_KEY, other))).toThrow(/does not belong to the public key/);
    expect(() => loadKeyPair(writePair('Kexample.com.+013+00001', BIND_KEY, BIND_PRIVATE))).toThrow(
      /file name says algorithm 13 tag 1, the key is algorithm 13 tag 63997/,
    );
    expect(() => loadKeyPair(path.join(dir, 'Kmissing.+013+00001'))).toThrow(
      /Kmissing\.\+013\+00001\.key: cannot read/,
    );
  });
});

describe('keygen', () => {
  it.each([
    [13, 'zsk', 256],
    [15, 'csk', 257],
  ] as const)('algorithm %i %s: writes a 0600 .private and a 0644 .key that load back', (algorithm, role, flags) => {
    const k = keygen({ zone: 'Example.NET.', role, algorithm, directory: dir, now: 1_800_000_000, ttl: 3600 });
    expect(path.basename(k.keyFile)).toBe(`${keyFileBase('example.net', algorithm, k.keyTag)}.key`);
    expect(statSync(k.privateFile).mode & 0o777).toBe(0o600);
    expect(statSync(k.keyFile).mode & 0o777).toBe(0o644);
    const again = loadKeyPair(k.keyFile);
    expect(again).toMatchObject({
      zone: 'example.net',
      flags,
      algorithm,
      keyTag: k.keyTag,
      ttl: 3600,
      timing: { Created: 1_800_000_000, Publish: 1_800_000_000, Activate: 1_800_000_000 },
    });
    expect(again.dnskey.equals(k.dnskey)).toBe(true);
    expect(readFileSync(k.keyFile, 'utf8')).toMatch(
      new RegExp(
        `^; This is a ${flags === 257 ? 'key' : 'zone'}-signing key, keyid ${k.keyTag}, for example\\.net\\.\n`,
      ),
    );
  });

  it('never overwrites an existing key file', () => {
    const k = keygen({ zone: 'example.org', role: 'ksk', directory: dir });
    expect(() => writeKeyPair(dir, { zone: 'example.org', flags: 257, material: k.material, timing: {} })).toThrow(
      /cannot create: EEXIST/,
    );
  });
});
