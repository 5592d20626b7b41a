/**
 * Signed-zone fixtures for tests: key pairs made by Meridian's own keygen
 * (BIND format, .private 0600) in a temporary directory, the test config
 * with a `dnssec:` section, and a trust anchor file for delv and unbound.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { keygen, type KeyRole } from '../../src/dnssec/keygen.js';
import type { ZoneKey } from '../../src/dnssec/key-files.js';
import { parseDnskeyRdata } from '../../src/dnssec/dnskey.js';
import { popsYaml } from './configs.js';

export const SIGNED_ORIGIN = 'example.net';

/** A zone with every answer kind a validator must accept: static, CNAME, wildcard, ENT, delegations, geo. */
export function signedZoneYaml(keys: string, extra = ''): string {
  return `
  - origin: example.net.
    ttl: 3600
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 2026120201, minimum: 300, ttl: 600 }
    ns: [ns1]
    dnssec:
      keys: ${JSON.stringify(keys)}${extra}
    records:
      ns1: { A: [198.51.100.53] }
      www: { A: [198.51.100.10, 198.51.100.11], AAAA: ["2001:db8:100::10"], TXT: ["hello world"] }
      static: { CNAME: www }
      chain: { CNAME: static }
      dangling: { CNAME: nothere }
      tocdn: { CNAME: cdn }
      "*.wild": { A: [198.51.100.99], TXT: [wildcard] }
      x.ent: { A: [192.0.2.7] }
      old: { DNAME: new.example.net. }
      www.new: { A: [198.51.100.30] }
      sub: { NS: [ns1.sub] }
      ns1.sub: { A: [198.51.100.200] }
      secure: { NS: [ns.example.org.], DS: ["60485 13 2 6f3a8c1e5d5b1f0e2c4a7d9b3e8f1a2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a"] }
    geo:
      cdn: { policy: nearest, ttl: 30, ttl_degraded: 10 }
      "*.edge": { policy: nearest, ttl: 30, types: [A] }`;
}

/** The same test config as testConfig() but with the signed zone (and an unsigned second zone). */
export function signedConfig(keys: string, o: { extra?: string; zoneExtra?: string } = {}): string {
  return `
server:
  identity: "signed-test"
  server_id: identity
  tcp: { idle_timeout: 2s, max_connections: 16 }
admin:
  listen: 127.0.0.1:0
geo:
  databases: [${JSON.stringify(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'geo-data', 'fixtures', 'city.mmdb'))}]
pops:
${popsYaml()}
policies:
  nearest:
    candidates: 3
    steps:
      - nearest: {}
    fallback: [fra, nyc]
zones:${signedZoneYaml(keys, o.zoneExtra ?? '')}
  - origin: example.org.
    soa: { mname: ns1, rname: hostmaster@example.org, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [198.51.100.54] }
      www: { A: [198.51.100.20] }
${o.extra ?? ''}`;
}

/** Write key pairs for the test zone into `dir` (a CSK by default). */
export function makeKeys(dir: string, roles: KeyRole[] = ['csk'], algorithm = 13, zone = SIGNED_ORIGIN): ZoneKey[] {
  const now = Math.floor(Date.now() / 1000) - 60;
  return roles.map((role) => keygen({ zone, role, algorithm, directory: dir, now }));
}

/** A BIND trust-anchors file with the SEP keys of `keys` (delv -a, unbound trust-anchor-file accepts DNSKEY lines). */
export function writeTrustAnchors(file: string, keys: readonly ZoneKey[], zone = SIGNED_ORIGIN): string {
  const lines = keys
    .filter((k) => (k.flags & 1) === 1)
    .map((k) => {
      const d = parseDnskeyRdata(k.dnskey);
      return `  ${zone}. static-key ${d.flags} ${d.protocol} ${d.algorithm} "${Buffer.from(d.publicKey).toString('base64')}";`;
    });
  writeFileSync(file, `trust-anchors {\n${lines.join('\n')}\n};\n`);
  return file;
}
