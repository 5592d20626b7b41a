/**
 * The README's "Not supported (yet)" list, kept true: every item there has a
 * probe here that shows the current behaviour against the real server (or
 * the real config loader), and the list and the probes must name the same
 * items. When a feature lands its probe fails, and the README line goes with
 * it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/build/config/load.js';
import { ConfigError, GeoDatabaseError } from '../../../src/errors.js';
import { openDatabases } from '../../../src/geo/open.js';
import { buildSnapshot } from '../../../src/build/snapshot.js';
import { keygen } from '../../../src/dnssec/keygen.js';
import { makeKeys, signedConfig } from '../../helpers/dnssec.js';
import { testConfig } from '../../helpers/configs.js';
import { buildQuery, decodeReply, tcpExchange, udpQuery, type Reply } from '../../helpers/dns.js';
import { ROOT, startServer, tempDir, type TestServer } from '../../helpers/server.js';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The bold item names of the README's "Not supported (yet)" section. */
function listedItems(): string[] {
  const start = README.indexOf('## Not supported (yet)');
  expect(start).toBeGreaterThan(0);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\* \*\*([^*]+)\*\*/gm)].map((m) => m[1]);
}

const rrTypes = (r: Reply) =>
  [...(r.packet.answers ?? []), ...(r.packet.authorities ?? []), ...(r.packet.additionals ?? [])].map((a) => a.type);
const opcodeQuery = (opcode: number) => {
  const q = buildQuery({ name: 'example.net', type: 'SOA' });
  q[2] = (q[2] & 0x87) | (opcode << 3);
  return q;
};

let t: TestServer;
const dir = tempDir('meridian-not-supported-');
beforeAll(async () => {
  t = await startServer(testConfig());
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Expect the config loader to reject `yaml` (the feature is not configurable yet) with a message matching `expectMessage`. */
const rejected = (yaml: string, expectMessage: RegExp) => {
  try {
    parseConfigText(yaml, 'probe.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(expectMessage);
    return;
  }
  throw new Error('the config was accepted: the feature may exist now; update the README list');
};

const PROBES: Record<string, () => Promise<void>> = {
  'Zone transfers': async () => {
    const [axfr] = await tcpExchange(t.port, [buildQuery({ name: 'example.net', type: 'AXFR' })]);
    expect(decodeReply(axfr).rcode).toBe(5); // REFUSED
    const [ixfr] = await tcpExchange(t.port, [buildQuery({ name: 'example.net', type: 'IXFR' })]);
    expect(decodeReply(ixfr).packet.answers ?? []).toEqual([]);
    const notify = await tcpExchange(t.port, [opcodeQuery(4)]);
    expect(notify[0][3] & 0x0f).toBe(4); // NOTIMP
  },
  'Pre-signed zones, NSEC3 and RSA keys': async () => {
    // A pre-signed zone: its RRSIG records are refused at load.
    try {
      buildSnapshot(
        parseConfigText(
          testConfig().replace('      www: {', "      signed: { TYPE46: ['\\# 4 00010203'] }\n      www: {"),
          path.join(dir, 'probe.yaml'),
        ),
      );
      throw new Error('a zone with RRSIG records was accepted');
    } catch (err) {
      expect((err as Error).message).toMatch(/RRSIG, NSEC and NSEC3 records are made by Meridian itself/);
    }
    // No RSA keys.
    expect(() => keygen({ zone: 'example.net', role: 'csk', algorithm: 8, directory: dir })).toThrow(
      /cannot generate keys for algorithm 8: use 13 \(ECDSAP256SHA256\) or 15 \(ED25519\)/,
    );
    // Denial is compact NSEC, never NSEC3.
    const keys = tempDir('meridian-not-supported-keys-');
    makeKeys(keys);
    const signed = await startServer(signedConfig(keys));
    try {
      const nx = await udpQuery(signed.port, { name: 'nope.example.net', type: 'A', edns: true, dnssecOk: true });
      expect(rrTypes(nx)).toContain('NSEC');
      expect(rrTypes(nx)).not.toContain('NSEC3');
    } finally {
      await signed.close();
    }
  },
  'Dynamic updates and TSIG': async () => {
    const [update] = await tcpExchange(t.port, [opcodeQuery(5)]);
    expect(update[3] & 0x0f).toBe(4); // NOTIMP
  },
  'Encrypted transports': async () => {
    rejected(
      testConfig().replace('server:\n', 'server:\n  tls: { listen: ["127.0.0.1:853"] }\n'),
      /server\.tls: unknown key "tls"/,
    );
  },
  'CNAMEs from geo records': async () => {
    rejected(
      testConfig({ pops: '  fra: { location: [50.1, 8.7], cname: fra.cdn.example.org. }' }),
      /unknown key "cname"/,
    );
  },
  'Legacy GeoIP (`.dat`) databases': async () => {
    const dat = path.join(dir, 'GeoIPCity.dat');
    writeFileSync(dat, Buffer.concat([Buffer.alloc(1024, 7), Buffer.from([0xff, 0xff, 0xff, 1, 0, 0])]));
    expect(() => openDatabases([dat], null)).toThrow(GeoDatabaseError);
    expect(() => openDatabases([dat], null)).toThrow(/not a MaxMind DB file/);
  },
};

describe('README "Not supported (yet)" is true', () => {
  it('the README list and the probes name the same items', () => {
    expect(listedItems()).toEqual(Object.keys(PROBES));
  });

  for (const [item, probe] of Object.entries(PROBES)) it(item, probe);
});
