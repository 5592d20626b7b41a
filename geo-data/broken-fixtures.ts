/**
 * Databases for the reload-safety tests, built in memory from the fixture
 * tables (nothing here is committed; `tsx geo-data/broken-fixtures.ts DIR`
 * writes them for trying `meridian check` by hand):
 *  - CORRUPTIONS: city.mmdb with one kind of damage each (random bytes in the
 *    search tree or the data section, a node pointing to itself, a record
 *    pointing past the end, a wrong node count in the metadata, the wrong
 *    record schema). Every one must be refused by validation.
 *  - movedCityDatabase(): a valid city.mmdb where some networks moved to
 *    another place (the change guard's 30 % and 1 % updates).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MmdbFile } from '../src/geo/mmdb.js';
import { FIXTURE_BUILD_EPOCH, FIXTURE_NETWORKS, type FixtureNetwork } from './fixture-networks.js';
import { cityRecord } from './make-fixtures.js';
import { writeMmdb } from './mmdb-writer.js';

/** city.mmdb (GeoIP2-City schema, IPv6 with IPv4 aliases, 28-bit records) for `networks`. */
export function cityDatabase(
  networks: readonly FixtureNetwork[] = FIXTURE_NETWORKS,
  buildEpoch = FIXTURE_BUILD_EPOCH,
): Buffer {
  return writeMmdb({
    ipVersion: 6,
    recordSize: 28,
    databaseType: 'GeoIP2-City',
    languages: ['en'],
    description: { en: 'Meridian test fixture (GeoIP2-City schema); not real data' },
    buildEpoch,
    ipv4Aliases: true,
    networks: networks.map((n) => ({ cidr: n.cidr, data: cityRecord(n) })),
  });
}

/** city.mmdb with the networks in `moves` (CIDR -> fixture place id) moved; a newer build epoch. */
export function movedCityDatabase(moves: Readonly<Record<string, string>>): Buffer {
  for (const cidr of Object.keys(moves))
    if (!FIXTURE_NETWORKS.some((n) => n.cidr === cidr)) throw new Error(`no fixture network ${cidr}`);
  return cityDatabase(
    FIXTURE_NETWORKS.map((n) => (Object.hasOwn(moves, n.cidr) ? { ...n, place: moves[n.cidr] } : n)),
    FIXTURE_BUILD_EPOCH + 30 * 86_400,
  );
}

/** A deterministic byte source (xorshift32), so a corruption is the same on every run. */
function noise(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) & 0xff;
  };
}

function scramble(buf: Buffer, from: number, to: number, seed: number): Buffer {
  const out = Buffer.from(buf);
  const next = noise(seed);
  for (let i = from; i < to; i++) out[i] = next();
  return out;
}

/** Write a 28-bit record (the fixture's record size) of node `node`. */
function setRecord28(buf: Buffer, node: number, bit: number, value: number): Buffer {
  const out = Buffer.from(buf);
  const o = node * 7;
  if (bit === 0) {
    out[o] = (value >> 16) & 0xff;
    out[o + 1] = (value >> 8) & 0xff;
    out[o + 2] = value & 0xff;
    out[o + 3] = (out[o + 3] & 0x0f) | ((value >> 20) & 0xf0);
  } else {
    out[o + 3] = (out[o + 3] & 0xf0) | ((value >> 24) & 0x0f);
    out[o + 4] = (value >> 16) & 0xff;
    out[o + 5] = (value >> 8) & 0xff;
    out[o + 6] = value & 0xff;
  }
  return out;
}

/** Rewrite the metadata's node_count (same encoded width). */
function setNodeCount(buf: Buffer, count: number): Buffer {
  const out = Buffer.from(buf);
  const key = out.lastIndexOf(Buffer.from('node_count'));
  const at = key + 'node_count'.length;
  const size = out[at] & 0x1f; // uint32: control byte 0xc0 | payload size
  for (let i = 0; i < size; i++) out[at + 1 + i] = (count >>> (8 * (size - 1 - i))) & 0xff;
  return out;
}

export interface Corruption {
  /** What was done to the file (for test names and the README). */
  what: string;
  build(): Buffer;
}

const good = () => cityDatabase();
const layout = (buf: Buffer) => new MmdbFile(buf, 'city.mmdb').layout;

export const CORRUPTIONS: Readonly<Record<string, Corruption>> = {
  'random-tree': {
    what: 'random bytes over the middle 40 % of the search tree',
    build() {
      const buf = good();
      const { treeBytes } = layout(buf);
      return scramble(buf, Math.floor(treeBytes * 0.3), Math.floor(treeBytes * 0.7), 11);
    },
  },
  'random-data': {
    what: 'random bytes over the middle half of the data section',
    build() {
      const buf = good();
      const { dataStart, dataEnd } = layout(buf);
      const size = dataEnd - dataStart;
      return scramble(buf, dataStart + Math.floor(size * 0.25), dataStart + Math.floor(size * 0.75), 7);
    },
  },
  'self-loop': {
    what: 'node 0 (the root) points to itself',
    build: () => setRecord28(good(), 0, 0, 0),
  },
  'pointer-past-end': {
    what: "the root's right record points 1000 bytes past the end of the data section",
    build() {
      const buf = good();
      const { treeBytes, dataStart, dataEnd } = layout(buf);
      const nodes = treeBytes / 7;
      return setRecord28(buf, 0, 1, nodes + 16 + (dataEnd - dataStart) + 1000);
    },
  },
  'wrong-node-count': {
    what: "the metadata's node_count is one less than the tree has",
    build() {
      const buf = good();
      return setNodeCount(buf, layout(buf).treeBytes / 7 - 1);
    },
  },
  'wrong-schema': {
    what: 'a GeoLite2-ASN database where a city database belongs',
    build: () =>
      writeMmdb({
        ipVersion: 6,
        recordSize: 28,
        databaseType: 'GeoLite2-ASN',
        buildEpoch: FIXTURE_BUILD_EPOCH,
        networks: FIXTURE_NETWORKS.filter((n) => n.asn !== null).map((n) => ({
          cidr: n.cidr,
          data: { autonomous_system_number: n.asn!, autonomous_system_organization: `Example AS ${n.asn}` },
        })),
      }),
  },
  'bad-latitude': {
    what: 'a record whose location.latitude is a string',
    build: () =>
      writeMmdb({
        ipVersion: 6,
        recordSize: 28,
        databaseType: 'GeoIP2-City',
        buildEpoch: FIXTURE_BUILD_EPOCH,
        networks: [
          {
            cidr: '6.0.0.0/16',
            data: {
              country: { iso_code: 'AU' },
              location: { latitude: '-33.87', longitude: { $type: 'double', value: 151.21 } },
            },
          },
          {
            cidr: '5.0.0.0/16',
            data: {
              country: { iso_code: 'JP' },
              location: { latitude: { $type: 'double', value: 35.68 }, longitude: { $type: 'double', value: 139.65 } },
            },
          },
        ],
      }),
  },
};

/**
 * A structurally valid database whose search tree multiplies paths: an IPv6
 * tree of one network at ::/100, each node's "no data" record pointed at the
 * same child as its other record. Validation passes (no loop, no path deeper
 * than 128 bits, every node reachable), but a full walk meets 2^100 networks:
 * the compile never ends on its own, and only the reload watchdog stops it.
 */
export function ladderDatabase(levels = 100): Buffer {
  let buf = writeMmdb({
    ipVersion: 6,
    recordSize: 28,
    databaseType: 'GeoIP2-City',
    buildEpoch: FIXTURE_BUILD_EPOCH,
    networks: [
      {
        cidr: `::/${levels}`,
        data: {
          country: { iso_code: 'DE' },
          location: { latitude: { $type: 'double', value: 50.11 }, longitude: { $type: 'double', value: 8.68 } },
        },
      },
    ],
  });
  const nodes = layout(buf).treeBytes / 7;
  const file = new MmdbFile(buf, 'ladder.mmdb');
  for (let i = 0; i < nodes; i++) buf = setRecord28(buf, i, 1, file.record(i, 0));
  return buf;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? 'broken-fixtures';
  mkdirSync(dir, { recursive: true });
  for (const [name, c] of Object.entries(CORRUPTIONS)) {
    writeFileSync(join(dir, `${name}.mmdb`), c.build());
    console.log(`${name}.mmdb: ${c.what}`);
  }
  writeFileSync(join(dir, 'ladder.mmdb'), ladderDatabase());
  console.log('ladder.mmdb: valid, but 2^100 networks to walk (stopped by the reload watchdog)');
}
