/**
 * A geoipupdate run against a running server, the way docs/geo-databases.md
 * sets it up: GeoLite2-City.mmdb and GeoLite2-ASN.mmdb in one directory, the
 * config naming them. geoipupdate (internal/geoipupdate/database in its
 * source) takes a lock file in the directory, downloads each edition into
 * `<edition>.mmdb.temporary`, fsyncs it, renames it over the database and,
 * with PreserveFileTimes, sets its mtime to the server's Last-Modified; City
 * first, ASN some time later. The server must reload on each rename, never
 * read a half-written file (no failed reload), and end up answering from
 * both new databases.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
  writeSync,
  copyFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_BUILD_EPOCH, FIXTURE_NETWORKS } from '../../../geo-data/fixture-networks.js';
import { buildFixtures } from '../../../geo-data/make-fixtures.js';
import { ASN_DB, CITY_DB, TEST_POPS, testConfig } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { startServer, tempDir, type TestServer } from '../../helpers/server.js';
import { metric, scrape } from './admin-http.js';

const NEW_EPOCH = FIXTURE_BUILD_EPOCH + 7 * 86_400;
/** What the new editions change: 6.0.0.0/16 moves from Sydney to Frankfurt (City), 7.0.0.0/16 moves from AS64540 to AS64550 (ASN). */
const UPDATED = FIXTURE_NETWORKS.map((n) =>
  n.cidr === '6.0.0.0/16' ? { ...n, place: 'fra' } : n.cidr === '7.0.0.0/16' ? { ...n, asn: 64550 } : n,
);

/** geoipupdate's LocalFileWriter, step by step (chunks with pauses so a half-written file exists for a while). */
async function geoipupdateWrite(dir: string, edition: string, bytes: Buffer, lastModified: Date): Promise<void> {
  const target = path.join(dir, `${edition}.mmdb`);
  const temp = `${target}.temporary`;
  const fd = openSync(temp, 'w', 0o644);
  const chunk = Math.ceil(bytes.length / 4);
  for (let off = 0; off < bytes.length; off += chunk) {
    writeSync(fd, bytes, off, Math.min(chunk, bytes.length - off));
    await new Promise((r) => setTimeout(r, 30));
  }
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, target);
  utimesSync(target, lastModified, lastModified);
}

describe('a geoipupdate run is picked up by a running server', () => {
  let t: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('meridian-geoipupdate-');
    copyFileSync(CITY_DB, path.join(dir, 'GeoLite2-City.mmdb'));
    copyFileSync(ASN_DB, path.join(dir, 'GeoLite2-ASN.mmdb'));
    const policies = `  nearest:
    candidates: 3
    steps:
      - asn: { AS64550: [jnb] }
      - nearest: {}
    fallback: [fra, nyc]`;
    t = await startServer(
      testConfig({
        databases: [path.join(dir, 'GeoLite2-City.mmdb')],
        asn: path.join(dir, 'GeoLite2-ASN.mmdb'),
        policies,
      }),
    );
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const answer = async (ecs: string) =>
    addresses(await udpQuery(t.port, { name: 'cdn.example.net', type: 'A', ecs }))[0];

  it('City, then ASN, replaced by rename: both take effect, no reload fails, the build times follow', async () => {
    expect(await answer('6.0.1.0/24')).toBe(TEST_POPS.syd.v4);
    expect(await answer('7.0.1.0/24')).toBe(TEST_POPS.gru.v4);
    expect(await answer('8.0.1.0/24')).toBe(TEST_POPS.jnb.v4);

    const fresh = buildFixtures(UPDATED, NEW_EPOCH);
    const lastModified = new Date((NEW_EPOCH + 3600) * 1000);
    writeFileSync(path.join(dir, '.geoipupdate.lock'), '');
    await geoipupdateWrite(dir, 'GeoLite2-City', fresh['city.mmdb'], lastModified);
    // The ASN download takes a moment: its rename lands while the City reload is running or just after.
    await new Promise((r) => setTimeout(r, 150));
    await geoipupdateWrite(dir, 'GeoLite2-ASN', fresh['asn.mmdb'], lastModified);
    rmSync(path.join(dir, '.geoipupdate.lock'));

    await until(
      async () => (await answer('6.0.1.0/24')) === TEST_POPS.fra.v4,
      'City update: 6.0.1.0/24 answered from fra',
      15_000,
    );
    await until(
      async () => (await answer('7.0.1.0/24')) === TEST_POPS.jnb.v4,
      'ASN update: 7.0.1.0/24 (now AS64550) answered from jnb',
      15_000,
    );
    expect(await answer('8.0.1.0/24')).toBe(TEST_POPS.jnb.v4);
    expect(await answer('1.0.1.0/24')).toBe(TEST_POPS.fra.v4);

    const m = await scrape(t.server.adminPort!);
    expect(metric(m, 'meridian_config_reloads_total', { result: 'failure' })).toBe(0);
    expect(metric(m, 'meridian_config_reloads_total', { result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'meridian_config_last_reload_success')).toBe(1);
    expect(metric(m, 'meridian_geo_database_build_timestamp_seconds', { file: 'GeoLite2-City.mmdb' })).toBe(NEW_EPOCH);
    expect(metric(m, 'meridian_geo_database_build_timestamp_seconds', { file: 'GeoLite2-ASN.mmdb' })).toBe(NEW_EPOCH);
  });
});
