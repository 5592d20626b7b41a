/**
 * Re-signing without a reload (plane/resign.ts): with a short validity the
 * running server replaces its signatures when they come due (a later
 * expiration on the same query, no reload counted), and a key's Activate
 * date in the future is a timer event: the ZSK published but not yet signing
 * starts signing on time, its DNSKEY having been in the zone all along.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keygen } from '../../../src/dnssec/keygen.js';
import { parseRrsig } from '../../../src/dnssec/rrsig.js';
import { keyTag } from '../../../src/dnssec/key-tag.js';
import { testConfig } from '../../helpers/configs.js';
import { rawSections, udpQuery, until } from '../../helpers/dns.js';
import { startServer, tempDir, type TestServer } from '../../helpers/server.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const zone = (keys: string, validity: string) => `
  - origin: example.net.
    ttl: 5
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 1, minimum: 5, ttl: 5 }
    ns: [ns1]
    dnssec:
      keys: ${JSON.stringify(keys)}
      validity: ${validity}
    records:
      ns1: { A: [198.51.100.53] }
      www: { A: [198.51.100.10] }`;

async function sigs(port: number, name: string, type: string) {
  const r = await udpQuery(port, { name, type, edns: true, dnssecOk: true });
  return rawSections(r.raw)
    .answer.filter((a) => a.type === 46)
    .map((a) => parseRrsig(Buffer.from(a.rdata, 'hex')));
}

describe('re-signing without a reload', () => {
  it('replaces the signatures when they come due', async () => {
    const dir = tempDir();
    keygen({ zone: 'example.net', role: 'csk', directory: dir, now: Math.floor(Date.now() / 1000) - 60 });
    t = await startServer(
      testConfig({ zones: zone(dir, '{ lifetime: 14s, refresh: 10s, jitter: 0, inception_offset: 1h }') }),
    );
    const [first] = await sigs(t.port, 'www.example.net', 'A');
    expect(first.expiration - first.inception).toBe(14 + 3600);
    // Due 4 s after signing: a new signature with a later expiration, and no reload.
    const later = await until(
      async () => {
        const [s] = await sigs(t!.port, 'www.example.net', 'A');
        return s.expiration > first.expiration ? s : null;
      },
      'a new signature',
      20_000,
      200,
    );
    expect(later!.expiration - later!.inception).toBe(14 + 3600);
    expect(t.server.control.resign.stats.ok).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('a ZSK published before it signs starts signing at its Activate date', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'k'));
    const now = Math.floor(Date.now() / 1000);
    const ksk = keygen({ zone: 'example.net', role: 'ksk', directory: path.join(dir, 'k'), now: now - 60 });
    const zskOld = keygen({ zone: 'example.net', role: 'zsk', directory: path.join(dir, 'k'), now: now - 60 });
    const zskNew = keygen({
      zone: 'example.net',
      role: 'zsk',
      directory: path.join(dir, 'k'),
      now: now - 60,
      timing: { Publish: now - 60, Activate: now + 3 },
    });
    t = await startServer(testConfig({ zones: zone(path.join(dir, 'k'), '{}') }));
    const dnskeys = rawSections((await udpQuery(t.port, { name: 'example.net', type: 'DNSKEY', edns: true })).raw)
      .answer.map((a) => keyTag(Buffer.from(a.rdata, 'hex')))
      .sort();
    expect(dnskeys).toEqual([ksk.keyTag, zskOld.keyTag, zskNew.keyTag].sort()); // published, not all signing
    expect((await sigs(t.port, 'www.example.net', 'A')).map((s) => s.keyTag)).toEqual([zskOld.keyTag]);
    const tags = await until(
      async () => {
        const s = (await sigs(t!.port, 'www.example.net', 'A')).map((x) => x.keyTag).sort();
        return s.length === 2 ? s : null;
      },
      'the new ZSK to sign',
      15_000,
      200,
    );
    expect(tags).toEqual([zskOld.keyTag, zskNew.keyTag].sort());
  }, 30_000);
});
