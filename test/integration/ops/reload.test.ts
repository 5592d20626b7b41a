/**
 * Reloads: under a steady stream of UDP queries the config is rewritten 20
 * times (two valid versions alternating, broken versions in between); every
 * query is answered, answers switch to each valid version, broken versions
 * never take effect, and the reload counters match the writes. Also the
 * programmatic reload (SIGHUP path) and a replaced geo database file.
 */
import { copyFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FIXTURE_ACCURACY_RADIUS,
  FIXTURE_BUILD_EPOCH,
  FIXTURE_CONTINENT_NAMES,
  FIXTURE_COUNTRY_NAMES,
  FIXTURE_NETWORKS,
  FIXTURE_PLACES,
  type FixtureNetwork,
} from '../../../geo-data/fixture-networks.js';
import { writeMmdb, type MmdbValue } from '../../../geo-data/mmdb-writer.js';
import { MeridianServer } from '../../../src/plane/server.js';
import { CITY_DB, STATIC_ZONE, testConfig } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { startServer, tempDir, writeAtomically, type TestServer } from '../../helpers/server.js';
import { get, metric, scrape } from './admin-http.js';
import { Load } from '../../helpers/load.js';

const A10 = '198.51.100.10';
const A11 = '198.51.100.11';
/** The address broken versions carry: it must never be answered. */
const BROKEN_ADDR = '198.51.100.66';

/** testConfig with www.example.net A = `addr`. */
function version(addr: string, o: Parameters<typeof testConfig>[0] = {}): string {
  const zones = STATIC_ZONE.replace('www: { A: [198.51.100.10]', `www: { A: [${addr}]`);
  if (zones === STATIC_ZONE && addr !== A10) throw new Error('www record not found in STATIC_ZONE');
  return testConfig({ zones, ...o });
}

/** Broken versions, each carrying BROKEN_ADDR so a partial take-over would show. */
const BROKEN: Record<string, () => string> = {
  'YAML syntax error': () => `${version(BROKEN_ADDR)}\nextra: [unclosed, flow\n`,
  'unknown PoP in a rule': () => version(BROKEN_ADDR).replace('fallback: [fra, nyc]', 'fallback: [fra, ams]'),
  'unreadable geo database': () => version(BROKEN_ADDR, { databases: ['/nonexistent/meridian/city.mmdb'] }),
  'schema error': () =>
    version(BROKEN_ADDR).replace('  identity: "test-instance"', '  identity: "test-instance"\n  udp_max_payload: 100'),
};

async function www(port: number): Promise<string[]> {
  return addresses(await udpQuery(port, { name: 'www.example.net', type: 'A' }));
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('reload under load', () => {
  it('20 rewrites (valid versions alternating, broken ones in between): every query answered, only valid versions served, counters exact', async () => {
    const t: TestServer = await startServer(version(A10));
    cleanups.push(() => t.close());
    const admin = t.server.adminPort!;
    const load = new Load(t.port, 4, 20); // ~200 queries/s
    cleanups.push(() => load.close());
    load.start();

    const brokenKinds = Object.keys(BROKEN);
    let valid = 0;
    let broken = 0;
    const reloads = async () => {
      const m = await scrape(admin);
      return {
        ok: metric(m, 'meridian_config_reloads_total', { result: 'success' }),
        failed: metric(m, 'meridian_config_reloads_total', { result: 'failure' }),
      };
    };
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) {
        const addr = valid % 2 === 0 ? A11 : A10;
        valid++;
        t.writeConfig(version(addr));
        await until(async () => (await reloads()).ok === valid, `valid write ${valid} reloaded`, 15_000);
        // The switch is visible to a fresh client right after the reload.
        await until(async () => (await www(t.port))[0] === addr, `answers switch to ${addr}`, 5_000);
      } else {
        const kind = brokenKinds[broken % brokenKinds.length];
        broken++;
        t.writeConfig(BROKEN[kind]());
        await until(
          async () => (await reloads()).failed === broken,
          `broken write ${broken} (${kind}) rejected`,
          15_000,
        );
        // Still the last valid version.
        expect(await www(t.port)).toEqual([valid % 2 === 1 ? A11 : A10]);
      }
    }
    load.stop();
    await until(() => load.answered === load.sent, `all ${load.sent} queries answered`, 5_000).catch(() => undefined);
    expect(load.bad).toEqual([]);
    expect(load.answered).toBe(load.sent);
    expect(load.sent).toBeGreaterThan(500);
    // Only the two valid addresses, always NOERROR.
    expect([...load.seen.keys()].sort()).toEqual([`0 ${A10}`, `0 ${A11}`]);
    // The counters settle at exactly one reload per write.
    const final = await reloads();
    expect(final).toEqual({ ok: 10, failed: 10 });
    // The last broken write left its error in /readyz; the config in use is the last valid one.
    const ready = JSON.parse((await get(admin, '/readyz')).body);
    expect(ready.ready).toBe(true);
    expect(ready.lastReloadError).not.toBeNull();
    expect(await www(t.port)).toEqual([A10]);
  }, 90_000);
});

describe('programmatic reload (the SIGHUP path)', () => {
  it('returns ok, or failed with every issue at file:line:column, and keeps serving the last good config', async () => {
    const dir = tempDir('meridian-reload-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = path.join(dir, 'meridian.yaml');
    writeFileSync(configFile, version(A10));
    const server = await MeridianServer.start({ configFile, listen: ['127.0.0.1:0'], admin: null, watch: false });
    cleanups.push(() => server.close(100));
    const port = server.addresses[0].port;

    writeAtomically(configFile, version(A11));
    const ok = await server.reload('test');
    expect(ok).toMatchObject({ ok: true, issues: [], message: 'ok' });
    expect(await www(port)).toEqual([A11]);

    const unknownKey = `${version(A10)}\nbogus_key: 1\n`;
    writeAtomically(configFile, unknownKey);
    const bad = await server.reload('test');
    const line = unknownKey.split('\n').findIndex((l) => l.startsWith('bogus_key')) + 1;
    expect(bad.ok).toBe(false);
    expect(bad.issues).toEqual([
      { file: configFile, line, column: 1, path: 'bogus_key', message: 'unknown key "bogus_key"' },
    ]);
    expect(await www(port)).toEqual([A11]);

    const unknownPop = BROKEN['unknown PoP in a rule']();
    writeAtomically(configFile, unknownPop);
    const bad2 = await server.reload('test');
    const popLine = unknownPop.split('\n').findIndex((l) => l.includes('fallback: [fra, ams]'));
    expect(bad2.ok).toBe(false);
    expect(bad2.issues).toEqual([
      {
        file: configFile,
        line: popLine + 1,
        column: unknownPop.split('\n')[popLine].indexOf('ams') + 1,
        path: 'policies.nearest.fallback[1]',
        message: 'unknown PoP "ams"',
      },
    ]);
    expect(await www(port)).toEqual([A11]);
    expect(server.control.reloads).toMatchObject({ ok: 1, failed: 2 });
  });
});

/** The fixture's GeoIP2-City record for a network (as geo-data/make-fixtures.ts writes it). */
function cityRecord(n: FixtureNetwork): MmdbValue {
  if (!n.place) {
    if (!n.countryOnly) return {};
    const { country, continent } = n.countryOnly;
    return {
      continent: { code: continent, names: { en: FIXTURE_CONTINENT_NAMES[continent] } },
      country: { iso_code: country, names: { en: FIXTURE_COUNTRY_NAMES[country] } },
    };
  }
  const p = FIXTURE_PLACES[n.place];
  return {
    city: { names: { en: p.city } },
    continent: { code: p.continent, names: { en: FIXTURE_CONTINENT_NAMES[p.continent] } },
    country: { iso_code: p.country, names: { en: FIXTURE_COUNTRY_NAMES[p.country] } },
    location: {
      latitude: { $type: 'double', value: p.latitude },
      longitude: { $type: 'double', value: p.longitude },
      accuracy_radius: FIXTURE_ACCURACY_RADIUS,
    },
    ...(p.subdivisionIso ? { subdivisions: [{ iso_code: p.subdivisionIso, names: { en: p.subdivisionName } }] } : {}),
  };
}

describe('a replaced geo database file is picked up', () => {
  it('6.0.0.0/16 moves from Sydney to Frankfurt: the answer for ECS 6.0.1.0/24 follows', async () => {
    const dbDir = tempDir('meridian-geodb-');
    cleanups.push(() => rmSync(dbDir, { recursive: true, force: true }));
    const db = path.join(dbDir, 'city.mmdb');
    copyFileSync(CITY_DB, db);
    const t = await startServer(testConfig({ databases: [db] }));
    cleanups.push(() => t.close());
    const sydney = async () =>
      addresses(await udpQuery(t.port, { name: 'cdn.example.net', type: 'A', ecs: '6.0.1.0/24' }));
    expect(await sydney()).toEqual(['192.0.2.6']);

    const moved = FIXTURE_NETWORKS.map((n) => (n.cidr === '6.0.0.0/16' ? { ...n, place: 'fra' } : n));
    expect(moved.filter((n) => n.cidr === '6.0.0.0/16' && n.place === 'fra')).toHaveLength(1);
    const bytes = writeMmdb({
      ipVersion: 6,
      recordSize: 28,
      databaseType: 'GeoIP2-City',
      languages: ['en'],
      description: { en: 'Meridian test fixture with 6.0.0.0/16 in Frankfurt' },
      buildEpoch: FIXTURE_BUILD_EPOCH + 86_400,
      ipv4Aliases: true,
      networks: moved.map((n) => ({ cidr: n.cidr, data: cityRecord(n) })),
    });
    const tmp = path.join(dbDir, 'city.mmdb.tmp');
    writeFileSync(tmp, bytes);
    renameSync(tmp, db);

    await until(async () => (await sydney())[0] === '192.0.2.1', 'answer for 6.0.1.0/24 moves to fra', 15_000);
    // Other networks are unchanged.
    expect(addresses(await udpQuery(t.port, { name: 'cdn.example.net', type: 'A', ecs: '5.0.1.0/24' }))).toEqual([
      '192.0.2.5',
    ]);
    const m = await scrape(t.server.adminPort!);
    expect(metric(m, 'meridian_config_reloads_total', { result: 'success' })).toBe(1);
    expect(metric(m, 'meridian_geo_database_build_timestamp_seconds', { file: 'city.mmdb' })).toBe(
      FIXTURE_BUILD_EPOCH + 86_400,
    );
  });
});
