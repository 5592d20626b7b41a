/**
 * A signed zone served by the real server over UDP and TCP sockets:
 *
 * - hold-out: with DO=0 (EDNS without DO, or no EDNS at all) every answer is
 *   byte for byte the answer of the same zone unsigned, NXDOMAIN included;
 * - DO=1: every RRset of the answer and authority sections carries RRSIGs
 *   that verify against the zone's DNSKEY (src/dnssec/rrsig.ts verifyRrsig,
 *   the validator's algorithm), names that do not exist get RFC 9824
 *   compact denial, geo answers are signed for every client network;
 * - a signed answer too large for the client's EDNS buffer is truncated
 *   (TC=1) and complete over TCP; NSID is still answered.
 *
 * The real validators (delv, unbound) judge the same server in
 * test/interop/dnssec-serve.test.ts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTypeBitmap } from '../../../src/dnssec/type-bitmap.js';
import { parseRrsig, verifyRrsig } from '../../../src/dnssec/rrsig.js';
import { nameWire } from '../../../src/dnssec/name-wire.js';
import { makeKeys, signedConfig } from '../../helpers/dnssec.js';
import { rawSections, tcpQuery, udpQuery, type QueryOptions, type RawRecord } from '../../helpers/dns.js';
import { startServer, tempDir, type TestServer } from '../../helpers/server.js';

let signed: TestServer;
let unsigned: TestServer;
let dnskeys: Buffer[];

const BIG_TXT = `big: { TXT: ["${'a'.repeat(200)}", "${'b'.repeat(200)}"] }`;

beforeAll(async () => {
  const dir = tempDir();
  makeKeys(dir, ['ksk', 'zsk']);
  const yaml = signedConfig(dir).replace(
    'ns1: { A: [198.51.100.53] }',
    `ns1: { A: [198.51.100.53] }\n      ${BIG_TXT}`,
  );
  signed = await startServer(yaml);
  unsigned = await startServer(yaml.replace(/\n {4}dnssec:\n {6}keys: .*/, ''));
  expect(readFileSync(unsigned.configFile, 'utf8')).not.toContain('dnssec');
  const r = await udpQuery(signed.port, { name: 'example.net', type: 'DNSKEY', edns: true, dnssecOk: true });
  dnskeys = rawSections(r.raw)
    .answer.filter((a) => a.type === 48)
    .map((a) => Buffer.from(a.rdata, 'hex'));
  expect(dnskeys).toHaveLength(2);
}, 60_000);

afterAll(async () => {
  await signed?.close();
  await unsigned?.close();
});

const QUERIES: Array<[string, string]> = [
  ['www.example.net', 'A'],
  ['WwW.ExAmPlE.NeT', 'AAAA'],
  ['www.example.net', 'TXT'],
  ['www.example.net', 'MX'],
  ['static.example.net', 'A'],
  ['chain.example.net', 'AAAA'],
  ['dangling.example.net', 'A'],
  ['tocdn.example.net', 'A'],
  ['x.wild.example.net', 'A'],
  ['x.wild.example.net', 'MX'],
  ['ent.example.net', 'A'],
  ['no-such-name.example.net', 'A'],
  ['deep.no-such-name.example.net', 'TXT'],
  ['www.sub.example.net', 'A'],
  ['sub.example.net', 'DS'],
  ['secure.example.net', 'DS'],
  ['cdn.example.net', 'A'],
  ['cdn.example.net', 'AAAA'],
  ['cdn.example.net', 'TXT'],
  ['one.edge.example.net', 'A'],
  ['two.edge.example.net', 'AAAA'],
  ['example.net', 'SOA'],
  ['example.net', 'NS'],
  ['example.net', 'ANY'],
  ['big.example.net', 'TXT'],
  ['www.old.example.net', 'A'],
  ['www.example.net', 'NSEC'],
  ['www.example.org', 'TYPE128'],
  ['nope.old.example.net', 'A'],
  ['www.old.example.net', 'MX'],
  ['www.example.org', 'A'],
  ['nope.example.org', 'A'],
];

/** RRsets of a section: records grouped by (owner lower-cased, type), RRSIGs by (owner, type covered). */
function rrsets(records: RawRecord[]): Map<string, { rrs: RawRecord[]; sigs: RawRecord[] }> {
  const out = new Map<string, { rrs: RawRecord[]; sigs: RawRecord[] }>();
  const at = (k: string) => out.get(k) ?? out.set(k, { rrs: [], sigs: [] }).get(k)!;
  for (const r of records) {
    if (r.type === 46)
      at(`${r.name.toLowerCase()}|${parseRrsig(Buffer.from(r.rdata, 'hex')).typeCovered}`).sigs.push(r);
    else at(`${r.name.toLowerCase()}|${r.type}`).rrs.push(r);
  }
  return out;
}

/** Every RRset that must be signed is, and each signature verifies with one of the zone's keys. */
function expectSigned(records: RawRecord[], unsignedOk: (name: string, type: number) => boolean): number {
  let verified = 0;
  const now = Math.floor(Date.now() / 1000);
  for (const [key, set] of rrsets(records)) {
    const [name, type] = [key.slice(0, key.lastIndexOf('|')), Number(key.slice(key.lastIndexOf('|') + 1))];
    if (set.rrs.length === 0) throw new Error(`RRSIG without its RRset: ${key}`);
    if (set.sigs.length === 0) {
      expect(unsignedOk(name, type), `unsigned RRset ${key}`).toBe(true);
      continue;
    }
    for (const sig of set.sigs) {
      const rdata = Buffer.from(sig.rdata, 'hex');
      const rrset = {
        owner: nameWire(name),
        type,
        ttl: set.rrs[0].ttl,
        rdata: set.rrs.map((r) => Buffer.from(r.rdata, 'hex')),
      };
      const verdicts = dnskeys.map((k) => verifyRrsig(rrset, rdata, k, now));
      expect(verdicts, `${key}`).toContain('valid');
      verified++;
    }
  }
  return verified;
}

describe('a signed zone over real sockets', () => {
  it('answers DO=0 queries byte for byte as the unsigned zone (UDP with and without EDNS, TCP)', async () => {
    for (const [name, type] of QUERIES) {
      for (const o of [{ edns: true }, { edns: false }, { edns: true, ecs: '1.1.1.0/24' }] as Partial<QueryOptions>[]) {
        const q = { name, type, id: 4242, ...o };
        const [a, b] = await Promise.all([udpQuery(signed.port, q), udpQuery(unsigned.port, q)]);
        expect(a.raw.toString('hex'), `${name} ${type} ${JSON.stringify(o)}`).toBe(b.raw.toString('hex'));
      }
      const q = { name, type, id: 4343, edns: true };
      const [a, b] = await Promise.all([tcpQuery(signed.port, q), tcpQuery(unsigned.port, q)]);
      expect(a.raw.toString('hex')).toBe(b.raw.toString('hex'));
    }
  });

  it('signs every RRset of every DO=1 answer, answer and authority, with signatures that verify', async () => {
    let verified = 0;
    for (const [name, type] of QUERIES) {
      const r = await tcpQuery(signed.port, { name, type, edns: true, dnssecOk: true, ecs: '5.0.0.0/24' });
      const s = rawSections(r.raw);
      const inUnsignedZone = name.endsWith('example.org');
      const delegationOrGlue = (n: string, t: number) =>
        (t === 2 && n === 'sub.example.net') || n.endsWith('sub.example.net');
      // RFC 6672 5.3.1: the CNAME synthesised from a DNAME is unsigned (validators derive it from the signed DNAME).
      const synthesized = (n: string, t: number) => t === 5 && n.endsWith('.old.example.net');
      verified += expectSigned(s.answer, (n, t) => inUnsignedZone || synthesized(n, t));
      verified += expectSigned(s.authority, (n, t) => inUnsignedZone || delegationOrGlue(n, t));
      if (inUnsignedZone) expect(s.answer.concat(s.authority).some((x) => x.type === 46)).toBe(false);
    }
    expect(verified).toBeGreaterThan(30);
  });

  it('denies a name that does not exist with RFC 9824 compact denial (NOERROR, NSEC with NXNAME); DO=0 keeps NXDOMAIN', async () => {
    const r = await udpQuery(signed.port, { name: 'Nope.Example.Net', type: 'A', edns: true, dnssecOk: true });
    expect(r.rcode).toBe(0);
    const nsec = rawSections(r.raw).authority.find((a) => a.type === 47)!;
    expect(nsec.name).toBe('Nope.Example.Net'); // owned by the query name as asked
    const rdata = Buffer.from(nsec.rdata, 'hex');
    expect(rdata.subarray(0, 20)).toEqual(Buffer.from('\x01\x00\x04nope\x07example\x03net\x00', 'latin1'));
    expect(decodeTypeBitmap(rdata.subarray(20))).toEqual([46, 47, 128]);
    const plain = await udpQuery(signed.port, { name: 'nope.example.net', type: 'A', edns: true });
    expect(plain.rcode).toBe(3);
    // NODATA: the types the name has.
    const nodata = await udpQuery(signed.port, { name: 'www.example.net', type: 'MX', edns: true, dnssecOk: true });
    const bitmap = rawSections(nodata.raw).authority.find((a) => a.type === 47)!;
    expect(decodeTypeBitmap(Buffer.from(bitmap.rdata, 'hex').subarray(19))).toEqual([1, 16, 28, 46, 47]);
  });

  it("answers an NSEC query with the name's NSEC (DO=1), and an NXNAME query with FORMERR in a signed zone (RFC 9824 3.5)", async () => {
    const nsec = await udpQuery(signed.port, { name: 'www.example.net', type: 'NSEC', edns: true, dnssecOk: true });
    expect(rawSections(nsec.raw).answer.map((a) => a.type)).toEqual([47, 46]);
    for (const name of ['www.example.net', 'nope.example.net']) {
      const nx = await udpQuery(signed.port, { name, type: 'TYPE128', edns: true, dnssecOk: true });
      expect(nx.rcode, name).toBe(1);
    }
    const plain = await udpQuery(unsigned.port, { name: 'www.example.net', type: 'TYPE128', edns: true });
    expect(plain.rcode).toBe(0);
  });

  it('signs the geo answer of each client network (the PoP differs, ECS scope as unsigned)', async () => {
    const seen = new Map<string, number>();
    for (const ecs of ['5.0.0.0/24', '1.1.1.0/24', '6.0.0.0/24']) {
      const q = { name: 'cdn.example.net', type: 'A', edns: true, ecs };
      const [a, b] = await Promise.all([udpQuery(signed.port, { ...q, dnssecOk: true }), udpQuery(unsigned.port, q)]);
      expect(a.ecs?.scope, ecs).toBe(b.ecs?.scope);
      const s = rawSections(a.raw);
      expectSigned(s.answer, () => false);
      seen.set(s.answer.find((x) => x.type === 1)!.rdata, a.ecs!.scope);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('truncates a signed answer larger than the EDNS buffer, and TCP carries it whole; NSID and cookies still answered', async () => {
    const q = { name: 'big.example.net', type: 'TXT', edns: true, udpSize: 512, nsid: true } as const;
    const plain = await udpQuery(signed.port, q);
    expect([plain.flags.tc, plain.nsid]).toEqual([false, 'signed-test']);
    const udp = await udpQuery(signed.port, { ...q, dnssecOk: true });
    expect([udp.flags.tc, udp.packet.answers?.length ?? 0, udp.nsid]).toEqual([true, 0, 'signed-test']);
    const tcp = await tcpQuery(signed.port, { ...q, dnssecOk: true });
    expect(tcp.flags.tc).toBe(false);
    expect(tcp.raw.length).toBeGreaterThan(512);
    expectSigned(rawSections(tcp.raw).answer, () => false);
    // DNS Cookies (RFC 7873) work as for unsigned answers: the client cookie comes back with a server cookie.
    const clientCookie = Buffer.from('0011223344556677', 'hex');
    const withCookie = await udpQuery(signed.port, {
      name: 'www.example.net',
      type: 'A',
      edns: true,
      dnssecOk: true,
      cookie: clientCookie,
    });
    expect(withCookie.cookie?.subarray(0, 8)).toEqual(clientCookie);
    expect(withCookie.cookie?.length).toBe(24);
    expectSigned(rawSections(withCookie.raw).answer, () => false);
  });
});
