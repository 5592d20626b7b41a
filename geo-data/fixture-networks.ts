/**
 * Single source of truth for the fixture GeoIP databases in geo-data/fixtures/.
 *
 * make-fixtures.ts turns these tables into .mmdb files; tests import the same
 * tables to know what every lookup must return. All networks use documentation-
 * style private ASNs (AS64500-AS64599) and made-up allocations.
 */

/** A city a fixture network geolocates to. */
export interface FixturePlace {
  id: string;
  city: string;
  /** ISO 3166-1 alpha-2 country code. */
  country: string;
  /** GeoIP2 continent code (EU, NA, AS, OC, SA, AF). */
  continent: string;
  /** Subdivision ISO code and name; both '' when the place has none. */
  subdivisionIso: string;
  subdivisionName: string;
  latitude: number;
  longitude: number;
}

/** A fixture network and what it resolves to. */
export interface FixtureNetwork {
  cidr: string;
  /** Place id in FIXTURE_PLACES, or null for the deliberately incomplete records. */
  place: string | null;
  /** For place === null: a country-level-only record (no city, no coordinates).
   *  Absent with place === null means a record with no geo data at all. */
  countryOnly?: { country: string; continent: string };
  /** Origin ASN, or null when the network is absent from asn.mmdb. */
  asn: number | null;
}

const place = (
  id: string,
  city: string,
  country: string,
  continent: string,
  subdivisionIso: string,
  subdivisionName: string,
  latitude: number,
  longitude: number,
): FixturePlace => ({ id, city, country, continent, subdivisionIso, subdivisionName, latitude, longitude });

/** Fixture places keyed by id. */
export const FIXTURE_PLACES: Readonly<Record<string, FixturePlace>> = Object.fromEntries(
  [
    place('fra', 'Frankfurt', 'DE', 'EU', 'HE', 'Hesse', 50.1109, 8.6821),
    place('muc', 'Munich', 'DE', 'EU', 'BY', 'Bavaria', 48.1351, 11.582),
    place('ber', 'Berlin', 'DE', 'EU', 'BE', 'Berlin', 52.52, 13.405),
    place('lon', 'London', 'GB', 'EU', 'ENG', 'England', 51.5072, -0.1276),
    place('par', 'Paris', 'FR', 'EU', 'IDF', 'Ile-de-France', 48.8566, 2.3522),
    place('nyc', 'New York', 'US', 'NA', 'NY', 'New York', 40.7128, -74.006),
    place('iad', 'Ashburn', 'US', 'NA', 'VA', 'Virginia', 39.0438, -77.4874),
    place('sfo', 'San Francisco', 'US', 'NA', 'CA', 'California', 37.7749, -122.4194),
    place('sea', 'Seattle', 'US', 'NA', 'WA', 'Washington', 47.6062, -122.3321),
    place('tyo', 'Tokyo', 'JP', 'AS', '13', 'Tokyo', 35.6762, 139.6503),
    place('sin', 'Singapore', 'SG', 'AS', '', '', 1.3521, 103.8198),
    place('bom', 'Mumbai', 'IN', 'AS', 'MH', 'Maharashtra', 19.076, 72.8777),
    place('syd', 'Sydney', 'AU', 'OC', 'NSW', 'New South Wales', -33.8688, 151.2093),
    place('gru', 'Sao Paulo', 'BR', 'SA', 'SP', 'Sao Paulo', -23.5505, -46.6333),
    place('jnb', 'Johannesburg', 'ZA', 'AF', 'GT', 'Gauteng', -26.2041, 28.0473),
  ].map((p) => [p.id, p]),
);

/** English country names used in the GeoIP2-style fixtures. */
export const FIXTURE_COUNTRY_NAMES: Readonly<Record<string, string>> = {
  DE: 'Germany',
  GB: 'United Kingdom',
  FR: 'France',
  US: 'United States',
  JP: 'Japan',
  SG: 'Singapore',
  IN: 'India',
  AU: 'Australia',
  BR: 'Brazil',
  ZA: 'South Africa',
};

/** English continent names used in the GeoIP2-style fixtures. */
export const FIXTURE_CONTINENT_NAMES: Readonly<Record<string, string>> = {
  EU: 'Europe',
  NA: 'North America',
  AS: 'Asia',
  OC: 'Oceania',
  SA: 'South America',
  AF: 'Africa',
};

/** accuracy_radius (km) written into every city.mmdb location. */
export const FIXTURE_ACCURACY_RADIUS = 20;

/** Fixed build time (2026-01-01T00:00:00Z) so fixture files are byte-identical on every run. */
export const FIXTURE_BUILD_EPOCH = 1767225600;

const net = (cidr: string, placeId: string | null, asn: number | null): FixtureNetwork => ({
  cidr,
  place: placeId,
  asn,
});

/** All fixture networks, IPv4 first. 2.10.0.0/16 is nested inside 2.0.0.0/8 and overrides it. */
export const FIXTURE_NETWORKS: readonly FixtureNetwork[] = [
  // IPv4
  net('1.0.0.0/16', 'fra', 64500),
  net('1.1.0.0/16', 'muc', 64500),
  net('1.2.0.0/15', 'fra', 64500),
  net('1.4.0.0/14', 'ber', 64501),
  net('2.0.0.0/8', 'par', 64502),
  net('2.10.0.0/16', 'lon', 64503),
  net('3.0.0.0/9', 'nyc', 64510),
  net('3.128.0.0/9', 'sfo', 64511),
  net('4.0.0.0/16', 'iad', 64510),
  net('4.1.0.0/16', 'sea', 64511),
  net('5.0.0.0/16', 'tyo', 64520),
  net('5.1.0.0/16', 'sin', 64521),
  net('6.0.0.0/16', 'syd', 64530),
  net('7.0.0.0/16', 'gru', 64540),
  net('8.0.0.0/16', 'jnb', 64550),
  net('9.0.0.0/16', 'bom', 64560),
  net('127.0.0.0/8', 'ber', null),
  // Country known, location unknown: "cannot place by coordinates".
  { cidr: '11.0.0.0/16', place: null, countryOnly: { country: 'DE', continent: 'EU' }, asn: 64599 },
  // Record present but empty: unlocatable.
  net('12.0.0.0/16', null, null),
  // IPv6
  net('2a01::/16', 'fra', 64500),
  net('2a02::/16', 'lon', 64503),
  net('2600::/16', 'nyc', 64510),
  net('2601::/16', 'sfo', 64511),
  net('2400::/16', 'tyo', 64520),
  net('2401::/16', 'syd', 64530),
  net('2800::/16', 'gru', 64540),
  net('2c0f::/16', 'jnb', 64550),
  net('::1/128', 'ber', null),
];

/** Address family of a fixture CIDR. */
export function fixtureFamily(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}
