/**
 * extractLocation / extractAsn on every fixture network in every schema
 * (GeoIP2 City, GeoIP2 Country, DB-IP flat, GeoLite2 ASN), plus the
 * country -> continent table DB-IP records need.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FIXTURE_NETWORKS,
  FIXTURE_PLACES,
  fixtureFamily,
  type FixtureNetwork,
} from '../../../geo-data/fixture-networks.js';
import { writeMmdb } from '../../../geo-data/mmdb-writer.js';
import { CONTINENT_CODES, continentOf } from '../../../src/geo/continents.js';
import {
  extractAsn,
  extractLocation,
  hasCoordinates,
  UNKNOWN_LOCATION,
  type GeoLocation,
} from '../../../src/geo/location.js';
import { MmdbFile } from '../../../src/geo/mmdb.js';
import { parsePrefix } from '../../../src/net/ip.js';
import { ASN_DB, CITY_DB, COUNTRY_DB, DBIP_V4, DBIP_V6 } from '../../helpers/configs.js';

const open = (file: string) => new MmdbFile(readFileSync(file), file);

/** Some address inside `n` that no nested fixture network overrides (the last address of the network). */
function probe(n: FixtureNetwork): { family: 4 | 6; bytes: Uint8Array } {
  const p = parsePrefix(n.cidr);
  const bytes = Uint8Array.from(p.bytes);
  for (let i = p.length; i < bytes.length * 8; i++) bytes[i >> 3] |= 0x80 >> (i & 7);
  if (n.cidr === '::1/128') bytes[15] = 1;
  return { family: p.family, bytes };
}

/** Location record for a fixture network in a database (IPv4 under ::/96 in IPv6 files). */
function locationIn(db: MmdbFile, n: FixtureNetwork, withCity = true): GeoLocation | null {
  const { family, bytes } = probe(n);
  const root = family === 4 ? db.ipv4Root() : 0;
  const { record } = db.lookupRecord(root, bytes, bytes.length * 8);
  if (record <= db.nodeCount) return null;
  return extractLocation(db, db.dataOffset(record), withCity);
}

type Schema = 'city' | 'country' | 'dbip';

function expected(n: FixtureNetwork, schema: Schema): GeoLocation {
  if (!n.place) {
    if (!n.countryOnly) return { ...UNKNOWN_LOCATION };
    return { ...UNKNOWN_LOCATION, country: n.countryOnly.country, continent: n.countryOnly.continent };
  }
  const p = FIXTURE_PLACES[n.place];
  const base = { country: p.country, continent: p.continent };
  if (schema === 'country') return { ...UNKNOWN_LOCATION, ...base };
  if (schema === 'dbip') {
    return {
      ...base,
      subdivisionCode: null,
      subdivisionName: p.subdivisionName || null,
      // DB-IP stores coordinates as 32-bit floats.
      lat: Math.fround(p.latitude),
      lon: Math.fround(p.longitude),
      city: p.city,
    };
  }
  return {
    ...base,
    subdivisionCode: p.subdivisionIso || null,
    subdivisionName: p.subdivisionName || null,
    lat: p.latitude,
    lon: p.longitude,
    city: p.city,
  };
}

describe('extractLocation on every fixture network', () => {
  const city = open(CITY_DB);
  const country = open(COUNTRY_DB);
  const dbip4 = open(DBIP_V4);
  const dbip6 = open(DBIP_V6);

  it.each(FIXTURE_NETWORKS.map((n) => [n.cidr, n] as const))('%s', (_cidr, n) => {
    expect(locationIn(city, n)).toEqual(expected(n, 'city'));
    expect(locationIn(country, n)).toEqual(expected(n, 'country'));
    const dbip = fixtureFamily(n.cidr) === 4 ? dbip4 : dbip6;
    expect(locationIn(dbip, n)).toEqual(expected(n, 'dbip'));
  });

  it('reads the city name only when asked (explain), never for the compiler', () => {
    const fra = FIXTURE_NETWORKS.find((n) => n.cidr === '1.0.0.0/16')!;
    expect(locationIn(city, fra, false)!.city).toBeNull();
    expect(locationIn(dbip4, fra, false)!.city).toBeNull();
    expect(locationIn(city, fra, true)!.city).toBe('Frankfurt');
  });

  it('hasCoordinates: placed networks yes, country-only and empty records no', () => {
    for (const n of FIXTURE_NETWORKS) {
      expect(hasCoordinates(locationIn(city, n)!), n.cidr).toBe(n.place !== null);
      expect(hasCoordinates(locationIn(country, n)!), n.cidr).toBe(false);
    }
    expect(hasCoordinates(UNKNOWN_LOCATION)).toBe(false);
    expect(Object.isFrozen(UNKNOWN_LOCATION)).toBe(true);
  });

  it('GeoIP2 records: registered_country stands in for a missing country; codes are upper-cased', () => {
    const buf = writeMmdb({
      ipVersion: 4,
      recordSize: 24,
      databaseType: 'GeoIP2-City',
      buildEpoch: 1,
      networks: [
        { cidr: '10.0.0.0/8', data: { registered_country: { iso_code: 'NL' } } },
        { cidr: '11.0.0.0/8', data: { country: { iso_code: 'fr' }, registered_country: { iso_code: 'NL' } } },
        {
          cidr: '12.0.0.0/8',
          data: { country_code: 'jp', latitude: { $type: 'double', value: 35.5 }, longitude: 139 },
        },
        { cidr: '13.0.0.0/8', data: { continent: { code: 'AN' } } },
        { cidr: '14.0.0.0/8', data: 'not a map' },
        { cidr: '15.0.0.0/8', data: { location: { latitude: 1 } } },
      ],
    });
    const db = new MmdbFile(buf, 'x.mmdb');
    const at = (a: string) =>
      extractLocation(
        db,
        db.dataOffset(db.lookupRecord(0, Uint8Array.from(a.split('.').map(Number)), 32).record),
        true,
      );
    expect(at('10.1.1.1')).toMatchObject({ country: 'NL', continent: 'EU' });
    expect(at('11.1.1.1')).toMatchObject({ country: 'FR', continent: 'EU' });
    expect(at('12.1.1.1')).toMatchObject({ country: 'JP', continent: 'AS', lat: 35.5, lon: 139 });
    expect(at('13.1.1.1')).toMatchObject({ country: null, continent: 'AN' });
    expect(at('14.1.1.1')).toEqual({ ...UNKNOWN_LOCATION });
    // A location with a latitude and no longitude is no location.
    expect(hasCoordinates(at('15.1.1.1'))).toBe(false);
  });
});

describe('extractAsn', () => {
  const asn = open(ASN_DB);
  it.each(FIXTURE_NETWORKS.map((n) => [n.cidr, n] as const))('%s', (_cidr, n) => {
    const { family, bytes } = probe(n);
    const { record } = asn.lookupRecord(family === 4 ? asn.ipv4Root() : 0, bytes, bytes.length * 8);
    if (n.asn === null) {
      expect(record).toBeLessThanOrEqual(asn.nodeCount);
    } else {
      expect(record).toBeGreaterThan(asn.nodeCount);
      expect(extractAsn(asn, asn.dataOffset(record))).toBe(n.asn);
    }
  });

  it('is 0 for a record without an AS number', () => {
    const city = open(CITY_DB);
    const { record } = city.lookupRecord(city.ipv4Root(), Uint8Array.from([1, 0, 0, 1]), 32);
    expect(extractAsn(city, city.dataOffset(record))).toBe(0);
  });
});

describe('continentOf', () => {
  it.each([
    ['DE', 'EU'],
    ['de', 'EU'],
    ['GB', 'EU'],
    ['NL', 'EU'],
    ['US', 'NA'],
    ['MX', 'NA'],
    ['BR', 'SA'],
    ['AR', 'SA'],
    ['JP', 'AS'],
    ['SG', 'AS'],
    ['IN', 'AS'],
    ['AU', 'OC'],
    ['NZ', 'OC'],
    ['ZA', 'AF'],
    ['MU', 'AF'],
    ['AQ', 'AN'],
  ])('%s is in %s', (cc, continent) => {
    expect(continentOf(cc)).toBe(continent);
  });

  it.each([['XX'], [''], ['DEU'], ['EU']])('%j is unknown', (cc) => {
    expect(continentOf(cc)).toBeNull();
  });

  it('knows the seven continent codes and agrees with the fixture places', () => {
    expect([...CONTINENT_CODES].sort()).toEqual(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']);
    for (const p of Object.values(FIXTURE_PLACES)) expect(continentOf(p.country), p.id).toBe(p.continent);
  });
});
