/**
 * Config texts for tests, built on the fixture databases in geo-data/fixtures
 * (see geo-data/fixture-networks.ts for what every network geolocates to).
 */
import path from 'node:path';
import { FIXTURES } from './server.js';

export const CITY_DB = path.join(FIXTURES, 'city.mmdb');
export const COUNTRY_DB = path.join(FIXTURES, 'country.mmdb');
export const ASN_DB = path.join(FIXTURES, 'asn.mmdb');
export const DBIP_V4 = path.join(FIXTURES, 'dbip-city-ipv4.mmdb');
export const DBIP_V6 = path.join(FIXTURES, 'dbip-city-ipv6.mmdb');

/** Test PoPs: one per fixture metro on six continents; addresses 192.0.2.N / 2001:db8::N. */
export const TEST_POPS: Record<string, { lat: number; lon: number; v4: string; v6: string }> = {
  fra: { lat: 50.1109, lon: 8.6821, v4: '192.0.2.1', v6: '2001:db8::1' },
  lon: { lat: 51.5072, lon: -0.1276, v4: '192.0.2.2', v6: '2001:db8::2' },
  nyc: { lat: 40.7128, lon: -74.006, v4: '192.0.2.3', v6: '2001:db8::3' },
  sfo: { lat: 37.7749, lon: -122.4194, v4: '192.0.2.4', v6: '2001:db8::4' },
  tyo: { lat: 35.6762, lon: 139.6503, v4: '192.0.2.5', v6: '2001:db8::5' },
  syd: { lat: -33.8688, lon: 151.2093, v4: '192.0.2.6', v6: '2001:db8::6' },
  gru: { lat: -23.5505, lon: -46.6333, v4: '192.0.2.7', v6: '2001:db8::7' },
  jnb: { lat: -26.2041, lon: 28.0473, v4: '192.0.2.8', v6: '2001:db8::8' },
};

export function popsYaml(pops = TEST_POPS, extra: Record<string, string> = {}): string {
  return Object.entries(pops)
    .map(
      ([id, p]) =>
        `  ${id}: { location: [${p.lat}, ${p.lon}], ipv4: [${p.v4}], ipv6: ["${p.v6}"]${extra[id] ? `, ${extra[id]}` : ''} }`,
    )
    .join('\n');
}

/** A static zone exercising the DNS semantics (issue 2). */
export const STATIC_ZONE = `
  - origin: example.net.
    ttl: 3600
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 2026010101, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300, ttl: 600 }
    ns: [ns1, ns2]
    records:
      "@":
        MX: ["10 mail"]
        TXT: ["v=spf1 -all"]
      ns1: { A: [198.51.100.53], AAAA: ["2001:db8:53::1"] }
      ns2: { A: [203.0.113.53] }
      www: { A: [198.51.100.10], AAAA: ["2001:db8:100::10"] }
      mail: { A: [198.51.100.25] }
      alias: { CNAME: www }
      chain: { CNAME: alias }
      loop1: { CNAME: loop2 }
      loop2: { CNAME: loop1 }
      dangling: { CNAME: missing }
      outside: { CNAME: www.example.org. }
      to-geo: { CNAME: cdn }
      a.b.c: { TXT: ["deep"] }
      "*.wild": { A: [198.51.100.99], TXT: ["wildcard"] }
      host.wild: { A: [198.51.100.98] }
      _sip._tcp: { SRV: ["10 5 5060 sip"] }
      sip: { A: [198.51.100.60] }
      caa: { CAA: ['0 issue "letsencrypt.org"'] }
      big: { TXT: ${JSON.stringify(Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}-${'x'.repeat(200)}`))} }
      sub: { NS: [ns1.sub, ns.elsewhere.org.] }
      ns1.sub: { A: [198.51.100.200] }
      4.3.2.1.in-addr: { PTR: [www] }
    geo:
      cdn: { policy: nearest, ttl: 30, ttl_degraded: 10 }
      "@": { policy: nearest }
`;

export interface GeoConfigOptions {
  databases?: string[];
  asn?: string | null;
  policies?: string;
  pops?: string;
  zones?: string;
  extra?: string;
  identity?: string;
}

/** A full config: fixture city DB, the test PoPs, a nearest policy, STATIC_ZONE. */
export function testConfig(o: GeoConfigOptions = {}): string {
  const dbs = o.databases ?? [CITY_DB];
  return `
server:
  identity: ${JSON.stringify(o.identity ?? 'test-instance')}
  server_id: identity
  tcp: { idle_timeout: 2s, max_connections: 16 }
admin:
  listen: 127.0.0.1:0
geo:
  databases: [${dbs.map((d) => JSON.stringify(d)).join(', ')}]${o.asn ? `\n  asn_database: ${JSON.stringify(o.asn)}` : ''}
pops:
${o.pops ?? popsYaml()}
policies:
${
  o.policies ??
  `  nearest:
    candidates: 3
    steps:
      - nearest: {}
    fallback: [fra, nyc]`
}
zones:${o.zones ?? STATIC_ZONE}
${o.extra ?? ''}`;
}
