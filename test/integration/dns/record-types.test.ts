/**
 * The record types real zones contain, served by a real server over UDP and
 * TCP: HTTPS/SVCB, TLSA, SSHFP, NAPTR, LOC, DS at a delegation point, RFC
 * 3597 unknown types (from test/fixtures/zones/types.example.zone and from
 * YAML), and DNAME substitution (RFC 6672) into STATIC_ZONE's example.net:
 * the DNAME, the synthesised CNAME with the DNAME's TTL and the client's
 * spelling, then what the new name has (data, CNAME chain, wildcard, NODATA,
 * NXDOMAIN), chained DNAMEs, YXDOMAIN, targets outside our zones, a CNAME
 * into a DNAME, geo targets with ECS, truncation, and c-ares following it.
 * RDATA is compared as bytes read from the reply by hand.
 */
import { readFileSync } from 'node:fs';
import { promises as dnsPromises } from 'node:dns';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_ZONE, testConfig } from '../../helpers/configs.js';
import {
  rawSections,
  tcpQuery,
  udpQuery,
  udpRaw,
  buildQuery,
  decodeReply,
  type QueryOptions,
  type Reply,
} from '../../helpers/dns.js';
import { ROOT, startServer, type TestServer } from '../../helpers/server.js';
import { metric, scrape } from '../ops/admin-http.js';

const ZONE_FILE = readFileSync(path.join(ROOT, 'test', 'fixtures', 'zones', 'types.example.zone'), 'utf8');
const EXAMPLE_COM = `
  - origin: example.com.
    file: types.example.zone
    records:
      yaml: { HTTPS: '1 . alpn=h3 port=8443', TLSA: ["3 1 0 3059301306072a"], TYPE65401: '\\# 2 0102', LOC: "52 22 23 N 4 53 32 E -2m 0m 0m 0m" }
      geo: { DNAME: example.net. }
`;

const NOERROR = 0;
const NXDOMAIN = 3;
const YXDOMAIN = 6;
const hex = (s: string) => s.replace(/\s+/g, '').toLowerCase();
const name = (n: string) =>
  hex(
    Buffer.from(
      `${n
        .split('.')
        .map((l) => String.fromCharCode(l.length) + l)
        .join('')}\0`,
      'latin1',
    ).toString('hex'),
  );

let t: TestServer;
beforeAll(async () => {
  t = await startServer(testConfig({ zones: STATIC_ZONE + EXAMPLE_COM }), {
    files: { 'types.example.zone': ZONE_FILE },
  });
});
afterAll(async () => {
  await t?.close();
});

type Query = (o: QueryOptions) => Promise<Reply>;
const TRANSPORTS: Array<[string, Query]> = [
  ['udp', (o) => udpQuery(t.port, o)],
  ['tcp', (o) => tcpQuery(t.port, o)],
];

/** Answer records as "owner TYPE rdata-hex". */
const answers = (r: Reply) => rawSections(r.raw).answer.map((a) => `${a.name} ${a.type} ${a.rdata}`);

describe.each(TRANSPORTS)('record types over %s', (_name, query) => {
  it.each<[string, string, number, string]>([
    // [qname, qtype, type code, RDATA]
    ['example.com', 'HTTPS', 65, `0001 00 0001 0006 02 6832 02 6833 0004 0004 c0000250`],
    [
      'svc.example.com',
      'SVCB',
      64,
      `0010 ${name('foo.example.org')} 0000 0004 0001 0004 0001 0009 02 6832 05 68332d3139 0004 0004 c0000201`,
    ],
    [
      'svc6.example.com',
      'SVCB',
      64,
      `0001 ${name('foo.example.com')} 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001`,
    ],
    ['alias.example.com', 'HTTPS', 65, `0000 ${name('svc.example.com')}`],
    [
      '_443._tcp.www.example.com',
      'TLSA',
      52,
      '000001 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971',
    ],
    ['www.example.com', 'SSHFP', 44, '0201 123456789abcdef67890123456789abcdef67890'],
    ['example.com', 'NAPTR', 35, `0064 000a 01 53 07 5349502b443255 00 ${name('_sip._udp.example.com')}`],
    ['example.com', 'LOC', 29, '00 33 16 13 89172dd0 70be15f0 00988d20'],
    ['sub.example.com', 'DS', 43, 'ec450501 2bb183af5f22588179a53b0a98631fad1a292118'],
    ['weird.example.com', 'TYPE65400', 65400, 'abcdef'],
    ['generic.example.com', 'A', 1, 'c0000202'],
    ['yaml.example.com', 'HTTPS', 65, '0001 00 0001 0003 02 6833 0003 0002 20fb'],
    ['yaml.example.com', 'TLSA', 52, '0301003059301306072a'],
    ['yaml.example.com', 'TYPE65401', 65401, '0102'],
    ['yaml.example.com', 'LOC', 29, '00 00 00 00 8b3cf018 810cbce0 009895b8'],
  ])('%s %s', async (qname, qtype, code, rdata) => {
    const r = await query({ name: qname, type: qtype });
    expect(r.rcode).toBe(NOERROR);
    expect(r.flags.aa).toBe(true);
    expect(answers(r)).toEqual([`${qname} ${code} ${hex(rdata)}`]);
  });

  it('DS is answered by the parent side at the delegation point; below it there is a referral', async () => {
    const ds = await query({ name: 'SUB.example.com', type: 'DS' });
    expect(ds.flags.aa).toBe(true);
    const decoded = ds.packet.answers![0] as {
      name: string;
      data: { keyTag: number; algorithm: number; digestType: number };
    };
    expect([decoded.name, decoded.data.keyTag, decoded.data.algorithm, decoded.data.digestType]).toEqual([
      'SUB.example.com',
      60485,
      5,
      1,
    ]);
    const below = await query({ name: 'host.sub.example.com', type: 'DS' });
    expect(below.flags.aa).toBe(false);
    expect(rawSections(below.raw).authority.map((a) => `${a.name} ${a.type}`)).toEqual(['sub.example.com 2']);
  });

  it('a type a name does not have is NODATA with the SOA; an unknown type at an empty name too', async () => {
    const r = await query({ name: 'www.example.com', type: 'TYPE65400' });
    expect([r.rcode, r.packet.answers?.length, r.packet.authorities?.[0]?.type]).toEqual([NOERROR, 0, 'SOA']);
  });
});

describe.each(TRANSPORTS)('DNAME over %s', (_name, query) => {
  it('substitutes: the DNAME, a CNAME from the name as asked (TTL of the DNAME), then the data (owners spelt as asked)', async () => {
    const r = await query({ name: 'WWW.Old.example.com', type: 'A' });
    expect(r.rcode).toBe(NOERROR);
    expect(r.flags.aa).toBe(true);
    const a = r.packet.answers as Array<{ name: string; type: string; ttl: number; data: string }>;
    expect(a.map((x) => [x.name, x.type, x.ttl, x.data])).toEqual([
      ['Old.example.com', 'DNAME', 300, 'example.net'],
      ['WWW.Old.example.com', 'CNAME', 300, 'WWW.example.net'],
      ['WWW.example.net', 'A', 3600, '198.51.100.10'],
    ]);
  });

  it('the new name is followed like a CNAME target: chains, wildcards, NODATA and NXDOMAIN with the SOA', async () => {
    const chain = await query({ name: 'chain.old.example.com', type: 'A' });
    expect(answers(chain).map((a) => a.split(' ').slice(0, 2).join(' '))).toEqual([
      'old.example.com 39',
      'chain.old.example.com 5',
      'chain.example.net 5',
      'alias.example.net 5',
      'www.example.net 1',
    ]);
    const wild = await query({ name: 'x.wild.old.example.com', type: 'TXT' });
    expect(wild.packet.answers!.map((a) => a.name)).toEqual([
      'old.example.com',
      'x.wild.old.example.com',
      'x.wild.example.net',
    ]);
    const nodata = await query({ name: 'www.old.example.com', type: 'MX' });
    expect([
      nodata.rcode,
      nodata.packet.answers!.length,
      nodata.packet.authorities!.map((a) => `${a.name} ${a.type}`),
    ]).toEqual([NOERROR, 2, ['example.net SOA']]);
    const nx = await query({ name: 'nope.old.example.com', type: 'A' });
    expect([
      nx.rcode,
      nx.flags.aa,
      nx.packet.answers!.length,
      nx.packet.authorities!.map((a) => `${a.name} ${a.type}`),
    ]).toEqual([NXDOMAIN, true, 2, ['example.net SOA']]);
  });

  it('a target outside our zones ends at the CNAME; chained DNAMEs are followed; the owner itself is not substituted', async () => {
    const out = await query({ name: 'a.gone.example.com', type: 'A' });
    expect([
      out.rcode,
      out.packet.answers!.map((a) => `${a.type} ${String((a as { data: unknown }).data)}`),
      out.packet.authorities?.length,
    ]).toEqual([NOERROR, ['DNAME example.org', 'CNAME a.example.org'], 0]);
    const twice = await query({ name: 'www.old2.example.com', type: 'A' });
    expect(twice.packet.answers!.map((a) => `${a.name} ${a.type}`)).toEqual([
      'old2.example.com DNAME',
      'www.old2.example.com CNAME',
      'old.example.com DNAME',
      'www.old.example.com CNAME',
      'www.example.net A',
    ]);
    const owner = await query({ name: 'old.example.com', type: 'DNAME' });
    expect(owner.packet.answers!.map((a) => `${a.name} ${a.type}`)).toEqual(['old.example.com DNAME']);
    const ownerA = await query({ name: 'old.example.com', type: 'A' });
    expect([ownerA.rcode, ownerA.packet.answers!.length]).toEqual([NOERROR, 0]);
  });

  it('YXDOMAIN when the substituted name would exceed 255 octets, with the DNAME in the answer', async () => {
    const label = 'q'.repeat(60);
    const r = await query({ name: `${label}.${label}.long.example.com`, type: 'A' });
    expect(r.rcode).toBe(YXDOMAIN);
    expect(r.packet.answers!.map((a) => a.type)).toEqual(['DNAME']);
    // 41 + 205 octets fit: NXDOMAIN for the new name, which does not exist.
    const fits = await query({ name: `${'q'.repeat(40)}.long.example.com`, type: 'A' });
    expect([fits.rcode, fits.packet.answers!.map((a) => a.type)]).toEqual([NXDOMAIN, ['DNAME', 'CNAME']]);
  });

  it('a CNAME into a DNAME is substituted too (at load time)', async () => {
    const r = await query({ name: 'into.example.com', type: 'A' });
    expect(r.packet.answers!.map((a) => `${a.name} ${a.type}`)).toEqual([
      'into.example.com CNAME',
      'old.example.com DNAME',
      'www.old.example.com CNAME',
      'www.example.net A',
    ]);
  });

  it('towards a geo name the answer stops at the CNAME, scope 0, so the resolver asks the geo name itself', async () => {
    const r = await query({ name: 'cdn.geo.example.com', type: 'A', ecs: '1.0.0.0/24' });
    expect(r.rcode).toBe(NOERROR);
    expect(r.packet.answers!.map((a) => `${a.name} ${a.type}`)).toEqual([
      'geo.example.com DNAME',
      'cdn.geo.example.com CNAME',
    ]);
    expect(r.ecs).toMatchObject({ source: 24, scope: 0 });
  });
});

describe('DNAME answers and clients', () => {
  it('over UDP without EDNS a long substituted answer is truncated (TC, empty sections); over TCP it is whole', async () => {
    const udp = decodeReply(
      (await udpRaw(t.port, buildQuery({ name: 'big.old.example.com', type: 'TXT', edns: false })))!,
    );
    expect([udp.flags.tc, udp.packet.answers?.length ?? 0]).toEqual([true, 0]);
    const tcp = await tcpQuery(t.port, { name: 'big.old.example.com', type: 'TXT' });
    expect([tcp.flags.tc, tcp.packet.answers!.length]).toEqual([false, 14]);
  });

  it('c-ares (node:dns) follows the synthesised CNAME to the address', async () => {
    const resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${t.port}`]);
    expect(await resolver.resolve4('www.old.example.com')).toEqual(['198.51.100.10']);
    expect(await resolver.resolveTxt('x.wild.old.example.com')).toEqual([['wildcard']]);
  });

  it('YXDOMAIN and HTTPS queries are counted under their own names', async () => {
    const label = 'q'.repeat(60);
    await udpQuery(t.port, { name: `${label}.${label}.long.example.com`, type: 'A' });
    await udpQuery(t.port, { name: 'example.com', type: 'HTTPS' });
    const m = await scrape(t.server.adminPort!);
    expect(
      metric(m, 'meridian_queries_total', { transport: 'udp', qtype: 'A', rcode: 'YXDOMAIN' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metric(m, 'meridian_queries_total', { transport: 'udp', qtype: 'HTTPS', rcode: 'NOERROR' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('dns-packet reads the DNAME answer as a DNAME and a CNAME (an independent decoder)', async () => {
    const r = await udpQuery(t.port, { name: 'mail.old.example.com', type: 'A' });
    const decoded = dnsPacket.decode(r.raw);
    expect(decoded.answers!.map((a) => [a.type, (a as { data: unknown }).data])).toEqual([
      ['DNAME', 'example.net'],
      ['CNAME', 'mail.example.net'],
      ['A', '198.51.100.25'],
    ]);
  });
});
