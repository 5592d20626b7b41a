/**
 * Signing at build time (build/zone-signing.ts, dnssec/zone-signer.ts) and
 * the helpers of the runtime side: which keys sign which RRsets (a KSK the
 * key sets, a ZSK the data), validity as configured, the re-sign due time
 * (the earliest refresh or key event), RR encoding and RDATA extraction, and
 * per-zone metric values summed over processes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRecord, rdatasOf } from '../../../src/build/answer-signing.js';
import { buildSnapshotFromFile } from '../../../src/build/snapshot.js';
import { nextResign, resignZones } from '../../../src/build/zone-signing.js';
import { parseRrsig, verifyRrsig } from '../../../src/dnssec/rrsig.js';
import { nameWire } from '../../../src/dnssec/name-wire.js';
import { sumDnssec } from '../../../src/observability/dnssec-metrics.js';
import { makeKeys, signedConfig } from '../../helpers/dnssec.js';

function snapshot(roles: Parameters<typeof makeKeys>[1], validity = '') {
  const dir = mkdtempSync(path.join(tmpdir(), 'meridian-sign-'));
  const keys = makeKeys(dir, roles);
  const file = path.join(dir, 'meridian.yaml');
  writeFileSync(file, signedConfig('.', { zoneExtra: validity }));
  return { s: buildSnapshotFromFile(file), keys };
}

describe('signing at build time', () => {
  it('KSK signs DNSKEY/CDS/CDNSKEY, ZSK everything else; every signature verifies; window as configured', () => {
    const { s, keys } = snapshot(
      ['ksk', 'zsk'],
      '\n      validity: { lifetime: 10d, refresh: 4d, inception_offset: 2h, jitter: 0 }',
    );
    const [ksk, zsk] = keys;
    const z = s.dnssec[0]!;
    const tagOf = (key: string) => z.rrsigs[key].map((r) => parseRrsig(r).keyTag);
    expect(tagOf('example.net|48')).toEqual([ksk.keyTag]);
    expect(tagOf('example.net|59')).toEqual([ksk.keyTag]);
    expect(tagOf('example.net|6')).toEqual([zsk.keyTag]);
    expect(tagOf('www.example.net|1')).toEqual([zsk.keyTag]);
    const sig = parseRrsig(z.rrsigs['www.example.net|1'][0]);
    expect(sig.expiration - sig.inception).toBe(10 * 86400 + 7200);
    expect(sig.inception).toBe(z.signedAt - 7200);
    expect(z.refreshAt).toBe(z.signedAt + 6 * 86400);
    const www = s.zones[0].records.filter((r) => r.name === 'www.example.net' && r.type === 'A');
    const rrset = {
      owner: nameWire('www.example.net'),
      type: 1,
      ttl: www[0].ttl,
      rdata: www.map((r) => Buffer.from((r.data as string).split('.').map(Number))),
    };
    expect(verifyRrsig(rrset, z.rrsigs['www.example.net|1'][0], zsk.dnskey, z.signedAt)).toBe('valid');
    expect(z.signatures).toBe(
      Object.values(z.rrsigs).flat().length + Object.values(z.nsec).flat().length - Object.keys(z.nsec).length,
    );
  });

  it('re-signing drops and remakes the apex key records and moves the window', () => {
    const { s } = snapshot(['csk']);
    const later = resignZones(s, s.dnssec[0]!.signedAt + 86400);
    const count = (zones: typeof s.zones) => zones[0].records.filter((r) => r.type === 'TYPE48').length;
    expect([count(s.zones), count(later.zones)]).toEqual([1, 1]);
    expect(later.dnssec[0]!.signedAt).toBe(s.dnssec[0]!.signedAt + 86400);
    expect(later.dnssec[1]).toBeNull();
  });

  it('the next re-sign is the earliest refresh or key event', () => {
    const z = (refreshAt: number, nextKeyEvent: number | null) =>
      ({ refreshAt, nextKeyEvent }) as Parameters<typeof nextResign>[0][number];
    expect(nextResign([null])).toBeNull();
    expect(nextResign([z(500, null), null, z(400, 450)])).toBe(400);
    expect(nextResign([z(500, 300)])).toBe(300);
  });
});

describe('runtime helpers', () => {
  it('encodes an RR and reads RDATA back from pointer and full owners', () => {
    const a = encodeRecord(Uint8Array.of(0xc0, 0x0c), 1, 300, Uint8Array.of(192, 0, 2, 1));
    const b = encodeRecord(nameWire('x.example'), 28, 60, new Uint8Array(16).fill(1));
    expect([...a]).toEqual([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
    expect(rdatasOf(Buffer.concat([a, b]), 2).map((r) => r.length)).toEqual([4, 16]);
  });

  it('sums per-zone values over processes, keeping the earliest expiry', () => {
    const v = (zone: string, n: number, expiresAt: number) => ({
      zone,
      made: [n, 2 * n, 0],
      inlineGeo: n,
      budgetExceeded: n,
      seconds: n / 10,
      denial: [n, n, 0, n],
      geo: [0, n, 0, n],
      expiresAt,
    });
    const sum = sumDnssec([[v('a', 1, 100), v('b', 5, 50)], [v('a', 2, 80)], undefined]);
    expect(sum.find((x) => x.zone === 'a')).toMatchObject({
      made: [3, 6, 0],
      inlineGeo: 3,
      expiresAt: 80,
      denial: [3, 3, 0, 3],
    });
    expect(sum.find((x) => x.zone === 'b')!.expiresAt).toBe(50);
  });
});
