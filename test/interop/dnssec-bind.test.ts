/**
 * Meridian's DNSSEC key files and signatures against BIND 9 (Debian
 * bind9-utils), both ways:
 * - keys dnssec-keygen writes (ECDSAP256SHA256 and ED25519, ZSK and KSK,
 *   every timing field, a TTL, the root zone) load, with the tag of their
 *   file name, the timing dnssec-settime reports, and format back byte for
 *   byte;
 * - keys Meridian's keygen writes are read by dnssec-dsfromkey (the DS we
 *   compute, SHA-256 and SHA-384) and dnssec-settime (our timing), and
 *   dnssec-signzone signs a zone with them, whose RRSIGs Meridian verifies.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatKeyFile, formatPrivateFile, parseKeyFile, parsePrivateFile } from '../../src/dnssec/bind-key-text.js';
import { RRType, typeCode } from '../../src/dnssec/constants.js';
import { dnskeyRdata } from '../../src/dnssec/dnskey.js';
import { dsRdata } from '../../src/dnssec/ds.js';
import { loadKeyPair } from '../../src/dnssec/key-files.js';
import type { KeyTiming } from '../../src/dnssec/key-timing.js';
import { keygen } from '../../src/dnssec/keygen.js';
import { nameWire } from '../../src/dnssec/name-wire.js';
import { formatDs } from '../../src/dnssec/presentation.js';
import { encodeRrsig, verifyRrsig } from '../../src/dnssec/rrsig.js';
import { parseDnssecTime } from '../../src/dnssec/time.js';
import { encodeTypeBitmap } from '../../src/dnssec/type-bitmap.js';
import { requireTool, run } from './tools.js';

const KEYGEN = '/usr/bin/dnssec-keygen';
const DSFROMKEY = '/usr/bin/dnssec-dsfromkey';
const SETTIME = '/usr/bin/dnssec-settime';
const SIGNZONE = '/usr/bin/dnssec-signzone';
const ENV_TZ = process.env.TZ;

let dir: string;

beforeAll(() => {
  for (const tool of [KEYGEN, DSFROMKEY, SETTIME, SIGNZONE]) requireTool(tool, 'bind9-utils');
  process.env.TZ = 'UTC'; // the .key comments carry ctime() in local time: same zone for BIND and us
  dir = mkdtempSync(path.join(tmpdir(), 'meridian-bind-'));
});
afterAll(() => {
  process.env.TZ = ENV_TZ;
  rmSync(dir, { recursive: true, force: true });
});

const bind = async (tool: string, args: string[], cwd = dir) => {
  const r = await run('/usr/bin/env', ['-C', cwd, 'TZ=UTC', tool, ...args]);
  expect(r.code, `${tool} ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
};

/** `dnssec-settime -u -p all` output as timing fields (BIND names two of them differently). */
async function bindTiming(base: string): Promise<KeyTiming> {
  const out = await bind(SETTIME, ['-u', '-p', 'all', base]);
  const names: Record<string, keyof KeyTiming> = { 'SYNC Publish': 'SyncPublish', 'SYNC Delete': 'SyncDelete' };
  const timing: KeyTiming = {};
  for (const line of out.trim().split('\n')) {
    const [label, value] = line.split(/:\s*/);
    const field = names[label] ?? (label as keyof KeyTiming);
    if (value !== 'UNSET' && !label.startsWith('DS ')) timing[field] = Number(value);
  }
  return timing;
}

describe('keys dnssec-keygen writes, read by Meridian', () => {
  it.each([
    ['ECDSAP256SHA256 ZSK', ['-a', 'ECDSAP256SHA256'], 'example.test', 256, 13],
    [
      'ECDSAP256SHA256 KSK with TTL and every date',
      [
        '-a',
        'ECDSAP256SHA256',
        '-f',
        'KSK',
        '-L',
        '3600',
        '-P',
        'now',
        '-A',
        '+1d',
        '-R',
        '+60d',
        '-I',
        '+30d',
        '-D',
        '+90d',
        '-P',
        'sync',
        '+2d',
        '-D',
        'sync',
        '+50d',
      ],
      'Dates.Example.TEST',
      257,
      13,
    ],
    ['ED25519 KSK', ['-a', 'ED25519', '-f', 'KSK'], 'example.test', 257, 15],
    ['ED25519 ZSK for the root', ['-a', 'ED25519'], '.', 256, 15],
  ])(
    '%s loads with the tag of its file name and the timing BIND reports',
    async (_label, args, zone, flags, algorithm) => {
      const base = (await bind(KEYGEN, ['-q', ...args, zone])).trim();
      const tagInName = Number(/\+(\d{5})$/.exec(base)![1]);
      const key = loadKeyPair(path.join(dir, base));
      expect(key.keyTag).toBe(tagInName);
      expect(key).toMatchObject({ zone: zone === '.' ? '' : zone.toLowerCase(), flags, algorithm });
      expect(key.timing).toEqual(await bindTiming(base));
      // our writer reproduces both files byte for byte
      const keyText = readFileSync(key.keyFile, 'utf8');
      const privateText = readFileSync(key.privateFile, 'utf8');
      const priv = parsePrivateFile(privateText, key.privateFile);
      expect(formatKeyFile(parseKeyFile(keyText, key.keyFile), priv.timing)).toBe(keyText);
      expect(formatPrivateFile(priv)).toBe(privateText);
    },
  );
});

describe('keys Meridian writes, read by BIND', () => {
  it.each([
    [13, 'zsk'],
    [13, 'ksk'],
    [15, 'csk'],
  ] as const)(
    'algorithm %i %s: dnssec-dsfromkey gives our DS (SHA-256, SHA-384), dnssec-settime our dates',
    async (algorithm, role) => {
      const now = Math.floor(Date.now() / 1000);
      const timing = {
        Created: now,
        Publish: now,
        Activate: now + 3600,
        Inactive: now + 30 * 86400,
        Delete: now + 40 * 86400,
        SyncPublish: now + 7200,
      };
      const key = keygen({ zone: 'meridian.test', role, algorithm, directory: dir, timing });
      const base = path.basename(key.keyFile, '.key');
      const ours = (digest: 2 | 4) =>
        `meridian.test. IN DS ${formatDs(dsRdata(nameWire('meridian.test'), key.dnskey, digest))}`;
      expect((await bind(DSFROMKEY, ['-2', `${base}.key`])).trim()).toBe(ours(2));
      expect((await bind(DSFROMKEY, ['-a', 'SHA-384', `${base}.key`])).trim()).toBe(ours(4));
      expect(await bindTiming(base)).toEqual(timing);
    },
  );

  it('dnssec-signzone signs with our KSK and ZSK; every RRSIG it makes verifies with our code', async () => {
    const zoneDir = mkdtempSync(path.join(dir, 'signzone-'));
    const ksk = keygen({ zone: 'example.test', role: 'ksk', algorithm: 13, directory: zoneDir });
    const zsk = keygen({ zone: 'example.test', role: 'zsk', algorithm: 15, directory: zoneDir });
    const ksk15 = keygen({ zone: 'example.test', role: 'ksk', algorithm: 15, directory: zoneDir });
    const zsk13 = keygen({ zone: 'example.test', role: 'zsk', algorithm: 13, directory: zoneDir });
    writeFileSync(
      path.join(zoneDir, 'db'),
      [
        '$TTL 300',
        'example.test. IN SOA ns1.example.test. Hostmaster.Example.TEST. 1 3600 900 604800 300',
        'example.test. IN NS ns1.example.test.',
        'example.test. IN MX 10 Mail.Example.Test.',
        'ns1.example.test. IN A 192.0.2.53',
        'WWW.example.test. IN A 192.0.2.2',
        'www.example.test. IN A 192.0.2.1',
        '*.wild.example.test. IN A 192.0.2.9',
        '',
      ].join('\n'),
    );
    await bind(SIGNZONE, ['-S', '-K', '.', '-o', 'example.test', '-O', 'full', '-f', 'signed', 'db'], zoneDir);
    const rrs = readFileSync(path.join(zoneDir, 'signed'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith(';'))
      .map(parseFullLine);
    const sets = new Map<string, { owner: Buffer; type: number; ttl: number; rdata: Buffer[] }>();
    const sigs: { owner: string; rdata: Buffer; covered: number }[] = [];
    for (const rr of rrs) {
      if (rr.type === RRType.RRSIG)
        sigs.push({ owner: rr.owner.toLowerCase(), rdata: rr.rdata, covered: rr.rdata.readUInt16BE(0) });
      else {
        const k = `${rr.owner.toLowerCase()}/${rr.type}`;
        const set = sets.get(k) ?? { owner: ownerWire(rr.owner), type: rr.type, ttl: rr.ttl, rdata: [] };
        set.rdata.push(rr.rdata);
        sets.set(k, set);
      }
    }
    const keys = new Map([ksk, zsk, ksk15, zsk13].map((k) => [k.keyTag, k.dnskey]));
    let verified = 0;
    for (const sig of sigs) {
      const set = sets.get(`${sig.owner}/${sig.covered}`)!;
      const dnskey = keys.get(sig.rdata.readUInt16BE(16))!;
      expect(verifyRrsig(set, sig.rdata, dnskey, Math.floor(Date.now() / 1000)), `${sig.owner} ${sig.covered}`).toBe(
        'valid',
      );
      verified++;
    }
    // SOA NS MX NSEC DNSKEY at the apex, A NSEC at ns1, www, *.wild; two algorithms each
    expect(verified).toBeGreaterThanOrEqual(2 * 11);
    expect(sigs.some((s) => s.owner === '*.wild.example.test.' && s.rdata[3] === 3)).toBe(true); // labels without the '*'
  });
});

/** Wire form of a presentation name, case kept (`Mail.Example.Test.`). */
function ownerWire(text: string): Buffer {
  const name = text === '.' ? '' : text.replace(/\.$/, '');
  return nameWire(name);
}

/** One line of `dnssec-signzone -O full` output: owner TTL class type RDATA, for the types in the test zone. */
function parseFullLine(line: string): { owner: string; ttl: number; type: number; rdata: Buffer } {
  const [owner, ttl, , typeText, ...f] = line.trim().split(/\s+/);
  const type = typeCode(typeText)!;
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  let rdata: Buffer;
  switch (type) {
    case RRType.A:
      rdata = Buffer.from(f[0].split('.').map(Number));
      break;
    case RRType.NS:
      rdata = ownerWire(f[0]);
      break;
    case RRType.MX:
      rdata = Buffer.concat([u16(Number(f[0])), ownerWire(f[1])]);
      break;
    case RRType.SOA:
      rdata = Buffer.concat([ownerWire(f[0]), ownerWire(f[1]), ...f.slice(2, 7).map((n) => u32(Number(n)))]);
      break;
    case RRType.DNSKEY:
      rdata = dnskeyRdata(Number(f[0]), Number(f[2]), Buffer.from(f.slice(3).join(''), 'base64'));
      break;
    case RRType.NSEC:
      rdata = Buffer.concat([ownerWire(f[0]), encodeTypeBitmap(f.slice(1).map((t) => typeCode(t)!))]);
      break;
    case RRType.RRSIG:
      rdata = encodeRrsig({
        typeCovered: typeCode(f[0])!,
        algorithm: Number(f[1]),
        labels: Number(f[2]),
        originalTtl: Number(f[3]),
        expiration: parseDnssecTime(f[4]),
        inception: parseDnssecTime(f[5]),
        keyTag: Number(f[6]),
        signer: ownerWire(f[7]),
        signature: Buffer.from(f.slice(8).join(''), 'base64'),
      });
      break;
    default:
      throw new Error(`unexpected type in the signed zone: ${line}`);
  }
  return { owner, ttl: Number(ttl), type, rdata };
}
