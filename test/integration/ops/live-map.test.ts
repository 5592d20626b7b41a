/**
 * The live /map: ?name= picks the geo record, the footer names the database
 * files actually used (and their attribution), a health change re-renders,
 * and concurrent requests share one render.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DBIP_V4, DBIP_V6, testConfig } from '../../helpers/configs.js';
import { startServer } from '../../helpers/server.js';
import { get } from './admin-http.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('/map', () => {
  it('?name= picks the record; the footer states the databases used; unknown names are 400', async () => {
    const t = await startServer(testConfig({ databases: [DBIP_V4, DBIP_V6] }));
    cleanups.push(() => t.close());
    const admin = t.server.adminPort!;
    const [first, cdn, apex] = await Promise.all([
      get(admin, '/map'),
      get(admin, '/map?name=cdn.example.net'),
      get(admin, '/map?name=example.net.'),
    ]);
    for (const r of [first, cdn, apex]) {
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/text\/html/);
      expect(r.body).toMatch(
        /Geo database: dbip-city-ipv4\.mmdb \(city ipv4, built \d{4}-\d\d-\d\d\), dbip-city-ipv6\.mmdb \(city ipv6, built \d{4}-\d\d-\d\d\); IP geolocation by DB-IP \(db-ip\.com\)\./,
      );
    }
    expect(first.body).toMatch(/Live catchments of cdn\.example\.net \(/);
    expect(cdn.body).toMatch(/Live catchments of cdn\.example\.net \(/);
    expect(apex.body).toMatch(/Live catchments of example\.net \(/);
    expect((await get(admin, '/map?name=nope.example.net')).status).toBe(400);
  }, 60_000);

  it('the city fixture is not credited to a vendor it does not come from', async () => {
    const t = await startServer(testConfig());
    cleanups.push(() => t.close());
    const r = await get(t.server.adminPort!, '/map');
    expect(r.body).toMatch(/Geo database: city\.mmdb \(GeoIP2-City, built \d{4}-\d\d-\d\d\)\./);
    expect(r.body).not.toMatch(/DB-IP|MaxMind/);
  }, 60_000);
});
