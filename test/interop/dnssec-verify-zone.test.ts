/**
 * End-to-end proof of the signing core without the server: a small zone
 * with the record kinds Meridian serves (SOA, NS, A/AAAA sets given out of
 * order and with a duplicate, MX and SRV with upper-case targets, TXT, CAA,
 * CNAME, a wildcard, an empty non-terminal, an insecure and a secure
 * delegation with glue, DNSKEY, CDS, CDNSKEY) is signed with Meridian's
 * code into an RFC 1035 master file, with an NSEC chain whose bitmaps are
 * Meridian's, and BIND's dnssec-verify must accept it: every RRSIG
 * (canonical form and order, labels, original TTL, signer, key tag), the
 * DNSKEY self-signature, the chain. Online signing has no chain; a full
 * zone is what dnssec-verify can check, and it checks every signature
 * independently of how we made it. A flipped signature bit must fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RRType, typeName } from '../../src/dnssec/constants.js';
import { nsecRdata } from '../../src/dnssec/compact-denial.js';
import { dsRdata } from '../../src/dnssec/ds.js';
import type { ZoneKey } from '../../src/dnssec/key-files.js';
import { cdsKeys, publishedKeys, signersFor } from '../../src/dnssec/key-roles.js';
import { keygen } from '../../src/dnssec/keygen.js';
import { compareCanonicalNames, nameWire } from '../../src/dnssec/name-wire.js';
import { formatDnskey, formatDs, formatNsec, formatRrsig } from '../../src/dnssec/presentation.js';
import { signRRset } from '../../src/dnssec/rrsig.js';
import { DEFAULT_VALIDITY, jitterSeed, signatureWindow } from '../../src/dnssec/validity.js';
import { encodeRR } from '../../src/wire/rr.js';
import { requireTool, run } from './tools.js';

const VERIFY = '/usr/bin/dnssec-verify';
const ORIGIN = 'example.test';
const NEGATIVE_TTL = 300;

let dir: string;
beforeAll(() => {
  requireTool(VERIFY, 'bind9-utils');
  dir = mkdtempSync(path.join(tmpdir(), 'meridian-verify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One record: owner relative to the origin ('@' the apex), type, TTL, master-file text, dns-packet data. */
type Rec = [owner: string, type: string, ttl: number, text: string, data: unknown];
const RECORDS: Rec[] = [
  [
    '@',
    'SOA',
    3600,
    'ns1.example.test. Hostmaster.Example.TEST. 2026120201 3600 900 604800 300',
    {
      mname: 'ns1.example.test',
      rname: 'Hostmaster.Example.TEST',
      serial: 2026120201,
      refresh: 3600,
      retry: 900,
      expire: 604800,
      minimum: 300,
    },
  ],
  ['@', 'NS', 3600, 'ns1.example.test.', 'ns1.example.test'],
  ['@', 'NS', 3600, 'NS2.Example.Test.', 'NS2.Example.Test'],
  ['@', 'MX', 3600, '10 Mail.Example.Test.', { preference: 10, exchange: 'Mail.Example.Test' }],
  ['@', 'TXT', 3600, '"v=spf1 -all"', ['v=spf1 -all']],
  ['@', 'CAA', 3600, '0 issue "letsencrypt.org"', { flags: 0, tag: 'issue', value: 'letsencrypt.org' }],
  ['ns1', 'A', 3600, '192.0.2.53', '192.0.2.53'],
  ['ns2', 'AAAA', 3600, '2001:db8::53', '2001:db8::53'],
  ['www', 'A', 300, '192.0.2.2', '192.0.2.2'],
  ['www', 'A', 300, '192.0.2.10', '192.0.2.10'],
  ['www', 'A', 300, '192.0.2.1', '192.0.2.1'],
  ['www', 'A', 300, '192.0.2.1', '192.0.2.1'],
  ['www', 'AAAA', 300, '2001:db8::1', '2001:db8::1'],
  ['alias', 'CNAME', 300, 'WWW.example.test.', 'WWW.example.test'],
  ['*.wild', 'A', 60, '192.0.2.99', '192.0.2.99'],
  ['x.ent', 'A', 60, '192.0.2.7', '192.0.2.7'],
  [
    '_sip._tcp',
    'SRV',
    300,
    '10 5 5060 Sip.Example.Test.',
    { priority: 10, weight: 5, port: 5060, target: 'Sip.Example.Test' },
  ],
  ['insecure', 'NS', 3600, 'ns.insecure.example.test.', 'ns.insecure.example.test'],
  ['ns.insecure', 'A', 3600, '192.0.2.80', '192.0.2.80'],
  ['secure', 'NS', 3600, 'ns.secure.example.test.', 'ns.secure.example.test'],
  ['ns.secure', 'A', 3600, '192.0.2.81', '192.0.2.81'],
  [
    'secure',
    'DS',
    3600,
    '12345 13 2 8C9A1AEF3FCBD1D5A4C4DDEE3C7E0F1B7AE88FD36A6DF4E2B1E5DD1FF1B6A6C1',
    {
      keyTag: 12345,
      algorithm: 13,
      digestType: 2,
      digest: Buffer.from('8C9A1AEF3FCBD1D5A4C4DDEE3C7E0F1B7AE88FD36A6DF4E2B1E5DD1FF1B6A6C1', 'hex'),
    },
  ],
];
const DELEGATIONS = ['insecure', 'secure'];

const absolute = (owner: string) => (owner === '@' ? ORIGIN : `${owner}.${ORIGIN}`);
const rdataOf = (type: string, data: unknown) => encodeRR({ name: '', type, ttl: 0, data }).subarray(11); // root owner (1) + type, class, TTL, RDLENGTH (10)

interface Set {
  owner: string;
  type: number;
  ttl: number;
  rdata: Buffer[];
  text: string[];
}

/** Sign the zone with `keys` into master-file text; `tamper` flips a bit of the www A signature. */
function signedZone(keys: ZoneKey[], now: number, tamper = false): string {
  const sets = new Map<string, Set>();
  const add = (owner: string, type: number, ttl: number, rdata: Buffer, text: string) => {
    const k = `${owner}/${type}`;
    const set = sets.get(k) ?? { owner, type, ttl, rdata: [], text: [] };
    set.rdata.push(rdata);
    set.text.push(text);
    sets.set(k, set);
  };
  for (const [owner, type, ttl, text, data] of RECORDS)
    add(absolute(owner), RRType[type as keyof typeof RRType], ttl, rdataOf(type, data), text);
  const apex = nameWire(ORIGIN);
  for (const k of publishedKeys(keys, now)) add(ORIGIN, RRType.DNSKEY, 3600, k.dnskey, formatDnskey(k.dnskey));
  for (const k of cdsKeys(keys, now)) {
    const cds = dsRdata(apex, k.dnskey, 2);
    add(ORIGIN, RRType.CDS, 3600, cds, formatDs(cds));
    add(ORIGIN, RRType.CDNSKEY, 3600, k.dnskey, formatDnskey(k.dnskey));
  }

  // Authoritative names: not below a delegation point (glue is neither signed nor chained).
  const below = (name: string) => DELEGATIONS.some((d) => name.endsWith(`.${absolute(d)}`));
  const names = [...new Set([...sets.values()].map((s) => s.owner))].filter((n) => !below(n));
  names.sort((a, b) => compareCanonicalNames(nameWire(a), nameWire(b)));
  names.forEach((name, i) => {
    const types = [...sets.values()].filter((s) => s.owner === name).map((s) => s.type);
    const next = nameWire(names[(i + 1) % names.length]);
    const rdata = nsecRdata(next, [...types, RRType.RRSIG, RRType.NSEC]);
    add(name, RRType.NSEC, NEGATIVE_TTL, rdata, formatNsec(rdata));
  });

  const lines: string[] = [];
  for (const set of [...sets.values()].sort(
    (a, b) => compareCanonicalNames(nameWire(a.owner), nameWire(b.owner)) || a.type - b.type,
  )) {
    set.text.forEach((t) => lines.push(`${set.owner}. ${set.ttl} IN ${typeName(set.type)} ${t}`));
    const delegationNs = set.type === RRType.NS && DELEGATIONS.some((d) => absolute(d) === set.owner);
    if (below(set.owner) || delegationNs) continue; // RFC 4035 section 2.2: glue and delegation NS are not signed
    const owner = nameWire(set.owner);
    for (const key of signersFor(keys, set.type, now)) {
      const window = signatureWindow(now, DEFAULT_VALIDITY, jitterSeed(owner, set.type));
      const sig = signRRset({ owner, type: set.type, ttl: set.ttl, rdata: set.rdata }, key, apex, window);
      if (tamper && set.owner === `www.${ORIGIN}` && set.type === RRType.A) sig[sig.length - 1] ^= 1;
      lines.push(`${set.owner}. ${set.ttl} IN RRSIG ${formatRrsig(sig)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function verify(zoneText: string, name: string, ...flags: string[]) {
  const file = path.join(dir, name);
  writeFileSync(file, zoneText);
  return run(VERIFY, [...flags, '-o', ORIGIN, file]);
}

describe('a zone signed by Meridian, checked by BIND dnssec-verify', () => {
  // One clock for keys and signatures: keys created "now" by keygen must already be active when the zone is signed.
  const now = Math.floor(Date.now() / 1000);

  it('KSK + ZSK (ECDSAP256SHA256): fully signed; DNSKEY signed by the KSK only (-x)', async () => {
    const keyDir = mkdtempSync(path.join(dir, 'kz-'));
    const keys = [
      keygen({ zone: ORIGIN, role: 'ksk', directory: keyDir, now }),
      keygen({ zone: ORIGIN, role: 'zsk', directory: keyDir, now }),
    ];
    const zone = signedZone(keys, now);
    expect(zone).toMatch(/^\*\.wild\.example\.test\. 60 IN RRSIG A 13 3 60 /m); // wildcard labels exclude '*'
    expect(zone).toMatch(/^ent\.example\.test\.|^x\.ent\.example\.test\. 300 IN NSEC/m);
    const r = await verify(zone, 'kz.db', '-x');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /Zone fully signed:\s*\nAlgorithm: ECDSAP256SHA256: KSKs: 1 active, 0 stand-by, 0 revoked\s*\n\s*ZSKs: 1 active/,
    );
  });

  it('one CSK (ED25519): fully signed (-z: a KSK signs everything)', async () => {
    const keyDir = mkdtempSync(path.join(dir, 'csk-'));
    const zone = signedZone([keygen({ zone: ORIGIN, role: 'csk', algorithm: 15, directory: keyDir, now })], now);
    const r = await verify(zone, 'csk.db', '-z');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Zone fully signed:\s*\nAlgorithm: ED25519: KSKs: 1 active/);
  });

  it('a ZSK pre-published but not yet active is in the DNSKEY RRset and signs nothing; the zone still verifies', async () => {
    const keyDir = mkdtempSync(path.join(dir, 'roll-'));
    const keys = [
      keygen({ zone: ORIGIN, role: 'ksk', directory: keyDir, now }),
      keygen({ zone: ORIGIN, role: 'zsk', directory: keyDir, now }),
      keygen({
        zone: ORIGIN,
        role: 'zsk',
        directory: keyDir,
        now,
        timing: { Publish: now - 60, Activate: now + 86400 },
      }),
    ];
    const zone = signedZone(keys, now);
    expect(zone.match(/ IN DNSKEY 256 /g)).toHaveLength(2);
    expect(zone).not.toContain(` ${keys[2].keyTag} example.test. `);
    const r = await verify(zone, 'roll.db');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/ZSKs: 1 active, 1 (stand-by|present)/);
  });

  it('a flipped signature bit is caught (the check can fail)', async () => {
    const keyDir = mkdtempSync(path.join(dir, 'bad-'));
    const zone = signedZone([keygen({ zone: ORIGIN, role: 'csk', directory: keyDir, now })], now, true);
    const r = await verify(zone, 'bad.db', '-z');
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/No correct ECDSAP256SHA256 signature for www\.example\.test A/);
  });
});
