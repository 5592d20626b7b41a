/**
 * EDNS Client Subnet end to end (RFC 7871), over real UDP and TCP sockets on
 * loopback, against a server on the fixture city database with the test PoPs.
 * The policy's fallback is gru, a PoP no placed fixture network picks first,
 * so "answered from the fallback" and "answered from a location" differ.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PLACES } from '../../../geo-data/fixture-networks.js';
import { writeMmdb } from '../../../geo-data/mmdb-writer.js';
import { DBIP_V4, DBIP_V6, testConfig } from '../../helpers/configs.js';
import {
  addresses,
  buildQuery,
  decodeReply,
  tcpExchange,
  tcpQuery,
  udpQuery,
  udpRaw,
  type QueryOptions,
  type Reply,
} from '../../helpers/dns.js';
import { startServer, tempDir, type TestServer } from '../../helpers/server.js';
import {
  cidr,
  contains,
  nearestThenFallback,
  Oracle,
  prefixOf,
  type ReferencePolicy,
} from '../../unit/policy/support.js';
import { answerSummary, ecsBytes, nearestPop, popAddress, withEcs } from './support.js';

const POLICY = `  nearest:
    candidates: 3
    steps:
      - nearest: {}
    fallback: [gru]`;
const REFERENCE: ReferencePolicy = { rank: nearestThenFallback(['gru']), candidates: 3 };
const oracles = { 4: new Oracle(4, REFERENCE), 6: new Oracle(6, REFERENCE) };

const transports = [
  ['UDP', udpQuery],
  ['TCP', tcpQuery],
] as const;

let t: TestServer;
/** Port of the [::1] listener. */
let port6: number;

beforeAll(async () => {
  t = await startServer(testConfig({ policies: POLICY }), { listen: ['127.0.0.1:0', '[::1]:0'] });
  port6 = t.server.addresses.find((a) => a.host.includes(':'))!.port;
});
afterAll(() => t.close());

/**
 * The scope the server must return for an ECS subnet: the widest prefix
 * around the masked address answered alike now (scopes of the current
 * answer, the default). Every PoP serves and has both families, and
 * max_answers is 1, so a decision is answered with its first PoP.
 */
function expectedScope(subnet: string): number {
  const c = cidr(subnet);
  return oracles[c.family].expectedAnswerScope(prefixOf(c.base, c.len, c.family).base, (d) => d[0]);
}

describe('ECS from several continents: nearest PoP, scope > 0 and within the database network', () => {
  // [ECS subnet, fixture place of the network, prefix length of that database network]
  const table: Array<[string, string, number]> = [
    ['1.0.1.0/24', 'fra', 16],
    ['1.1.42.0/24', 'muc', 16],
    ['1.4.7.0/24', 'ber', 14],
    ['2.10.5.0/24', 'lon', 16],
    ['2.20.0.0/24', 'par', 8],
    ['3.1.0.0/24', 'nyc', 9],
    ['3.200.0.0/24', 'sfo', 9],
    ['4.0.3.0/24', 'iad', 16],
    ['4.1.3.0/24', 'sea', 16],
    ['5.0.0.0/24', 'tyo', 16],
    ['5.1.9.0/24', 'sin', 16],
    ['6.0.1.0/24', 'syd', 16],
    ['7.0.200.0/24', 'gru', 16],
    ['8.0.0.128/25', 'jnb', 16],
    ['9.0.99.0/24', 'bom', 16],
    ['1.0.1.77/32', 'fra', 16],
    ['6.0.0.0/16', 'syd', 16],
    ['2a01:4f8::/32', 'fra', 16],
    ['2a02:1:2::/48', 'lon', 16],
    ['2600:1::/48', 'nyc', 16],
    ['2601:ab::/56', 'sfo', 16],
    ['2400:1::/48', 'tyo', 16],
    ['2401:2:3:4::/64', 'syd', 16],
    ['2800::/32', 'gru', 16],
    ['2c0f:f000::/36', 'jnb', 16],
    ['2a01::1/128', 'fra', 16],
  ];

  for (const [name, query] of transports) {
    it.each(table)(`${name}: ECS %s (%s) -> nearest PoP`, async (subnet, place, dbPrefix) => {
      for (const type of ['A', 'AAAA']) {
        const r = await query(t.port, withEcs('cdn.example.net', type, subnet));
        expect(r.rcode).toBe(0);
        expect(r.flags.aa).toBe(true);
        expect(addresses(r)).toEqual([popAddress(nearestPop(place), type)]);
        expect(r.packet.answers?.[0]).toMatchObject({ ttl: 30 });
        expect(r.ecs).not.toBeNull();
        expect(r.ecs!.scope).toBeGreaterThan(0);
        expect(r.ecs!.scope).toBeLessThanOrEqual(dbPrefix);
        expect(r.ecs!.scope).toBe(expectedScope(subnet));
      }
    });
  }

  it('the nearest PoPs are the expected ones', () => {
    // Spot checks of the table's expectations, independent of the reference ranking.
    expect(
      ['fra', 'muc', 'ber', 'lon', 'par', 'nyc', 'sfo', 'iad', 'sea', 'tyo', 'sin', 'syd', 'gru', 'jnb', 'bom'].map(
        nearestPop,
      ),
    ).toEqual([
      'fra',
      'fra',
      'fra',
      'lon',
      'lon',
      'nyc',
      'sfo',
      'nyc',
      'sfo',
      'tyo',
      'tyo',
      'syd',
      'gru',
      'jnb',
      'fra',
    ]);
  });

  it('merged scopes: 1.0.x is answered for all of 1.0.0.0/13, 2.10.x (London inside Paris) for 2.0.0.0/8', async () => {
    expect((await udpQuery(t.port, withEcs('cdn.example.net', 'A', '1.0.1.0/24'))).ecs!.scope).toBe(13);
    expect((await udpQuery(t.port, withEcs('cdn.example.net', 'A', '2.10.5.0/24'))).ecs!.scope).toBe(8);
  });
});

describe('the ECS option in the response', () => {
  it.each([
    '6.0.1.0/24',
    '6.0.1.0/23',
    '192.0.2.128/25',
    '6.0.0.0/7',
    '6.0.1.99/32',
    '1.0.0.0/1',
    '2401:2::/48',
    '2401:2:3:4::/64',
    '2401:2:3:4:5:6:7:8/128',
    '2401:2:3:8000::/33',
    '2400::/7',
    '::ffff:6.0.0.0/120',
  ])('echoes FAMILY, SOURCE PREFIX-LENGTH and ADDRESS exactly as sent (%s), UDP and TCP', async (subnet) => {
    const sent = ecsBytes(subnet);
    for (const [, query] of transports) {
      const r = await query(t.port, withEcs('cdn.example.net', 'A', subnet));
      expect(r.rcode).toBe(0);
      expect(r.ecs!.family).toBe(sent.readUInt16BE(0));
      expect(r.ecs!.source).toBe(sent[2]);
      expect(Buffer.from(r.ecs!.address).equals(sent.subarray(4))).toBe(true);
    }
  });

  it.each<[string, string, string, number, string[]]>([
    ['a static A record', 'www.example.net', 'A', 0, ['A 198.51.100.10']],
    ['a static AAAA record', 'www.example.net', 'AAAA', 0, ['AAAA 2001:db8:100::10']],
    ['a static MX at the apex', 'example.net', 'MX', 0, ['MX 10 mail.example.net']],
    ['NODATA at a geo name', 'cdn.example.net', 'TXT', 0, []],
    ['NXDOMAIN', 'nope.example.net', 'A', 3, []],
  ])('%s with ECS: scope 0 and still an ECS option', async (_what, name, type, rcode, answers) => {
    for (const [, query] of transports) {
      const r = await query(t.port, withEcs(name, type, '6.0.1.0/24'));
      expect(r.rcode).toBe(rcode);
      expect(answerSummary(r)).toEqual(answers);
      expect(r.ecs).toEqual({ family: 1, source: 24, scope: 0, address: Buffer.from([6, 0, 1]) });
    }
  });

  it('a query without ECS gets no ECS option (with EDNS: OPT without ECS; without EDNS: no OPT)', async () => {
    for (const [, query] of transports) {
      const withOpt = await query(t.port, { name: 'cdn.example.net', type: 'A', udpSize: 1232 });
      expect(withOpt.opt).not.toBeNull();
      expect(withOpt.ecs).toBeNull();
      expect(addresses(withOpt)).toEqual([popAddress('fra', 'A')]);
      const bare = await query(t.port, { name: 'cdn.example.net', type: 'A' });
      expect(bare.opt).toBeNull();
      expect(bare.ecs).toBeNull();
      const stat = await query(t.port, { name: 'www.example.net', type: 'A', nsid: true });
      expect(stat.ecs).toBeNull();
    }
  });
});

describe('SOURCE PREFIX-LENGTH 0 (RFC 7871 7.1.2): answer from the packet source, scope 0', () => {
  it.each([
    ['0.0.0.0/0', 'A'],
    ['0.0.0.0/0', 'AAAA'],
    ['::/0', 'A'],
    ['::/0', 'AAAA'],
  ])('ECS %s %s from 127.0.0.1 (Berlin) -> fra, not the fallback', async (subnet, type) => {
    for (const [, query] of transports) {
      const r = await query(t.port, withEcs('cdn.example.net', type, subnet));
      expect(r.rcode).toBe(0);
      expect(addresses(r)).toEqual([popAddress('fra', type)]);
      expect(r.ecs).toEqual({ family: subnet.includes(':') ? 2 : 1, source: 0, scope: 0, address: Buffer.alloc(0) });
    }
  });

  it('from ::1 (Berlin in the fixture) over IPv6 as well', async () => {
    const r = await udpQuery(port6, withEcs('cdn.example.net', 'AAAA', '0.0.0.0/0'), '::1');
    expect(addresses(r)).toEqual([popAddress('fra', 'AAAA')]);
    expect(r.ecs?.scope).toBe(0);
    const tcp = await tcpQuery(port6, withEcs('cdn.example.net', 'A', '::/0'), '::1');
    expect(addresses(tcp)).toEqual([popAddress('fra', 'A')]);
    expect(tcp.ecs?.scope).toBe(0);
  });
});

describe('address families', () => {
  it('an IPv6 ECS for an A query and an IPv4 ECS for an AAAA query', async () => {
    for (const [, query] of transports) {
      const a = await query(t.port, withEcs('cdn.example.net', 'A', '2401:2::/48'));
      expect(addresses(a)).toEqual([popAddress('syd', 'A')]);
      expect(a.ecs).toMatchObject({ family: 2, source: 48, scope: expectedScope('2401:2::/48') });
      const aaaa = await query(t.port, withEcs('cdn.example.net', 'AAAA', '7.0.1.0/24'));
      expect(addresses(aaaa)).toEqual([popAddress('gru', 'AAAA')]);
      expect(aaaa.ecs).toMatchObject({ family: 1, source: 24, scope: expectedScope('7.0.1.0/24') });
    }
  });

  it.each([
    ['::ffff:6.0.0.0/120', '6.0.0.0/24'],
    ['::ffff:6.0.1.0/112', '6.0.0.0/16'],
    ['::ffff:5.1.2.3/128', '5.1.2.3/32'],
    ['::ffff:3.200.0.0/104', '3.200.0.0/8'],
  ])('IPv4-mapped ECS %s answers like the IPv4 client %s, scope = 96 + its scope', async (mapped, v4) => {
    for (const type of ['A', 'AAAA']) {
      const m = await udpQuery(t.port, withEcs('cdn.example.net', type, mapped));
      const plain = await udpQuery(t.port, withEcs('cdn.example.net', type, v4));
      expect(addresses(m)).toEqual(addresses(plain));
      expect(m.ecs!.scope).toBeGreaterThanOrEqual(96);
      expect(m.ecs!.scope).toBe(96 + plain.ecs!.scope);
      expect(m.ecs!.family).toBe(2);
    }
    const syd = await tcpQuery(t.port, withEcs('cdn.example.net', 'A', '::ffff:6.0.0.0/120'));
    expect(addresses(syd)).toEqual([popAddress('syd', 'A')]);
    expect(syd.ecs!.scope).toBe(112);
  });

  it('an IPv6 ECS shorter than the networks below it gets a scope longer than its source (RFC 7871 7.2.1)', async () => {
    // 2a00::/8 holds 2a01::/16 (fra) and 2a02::/16 (lon): the answer for 2a00:: is only valid for 2a00::/16.
    const r = await udpQuery(t.port, withEcs('cdn.example.net', 'A', '2a00::/8'));
    expect(r.ecs).toMatchObject({ source: 8, scope: 16 });
    expect(addresses(r)).toEqual([popAddress('gru', 'A')]); // 2a00::/16 has no data: fallback
  });
});

describe('an ECS /16 shorter than the leaf depth where the database splits below it', () => {
  let s: TestServer;
  const dir = tempDir('meridian-split-');
  const place = (id: string) => ({
    location: {
      latitude: { $type: 'double' as const, value: FIXTURE_PLACES[id].latitude },
      longitude: { $type: 'double' as const, value: FIXTURE_PLACES[id].longitude },
    },
    country: { iso_code: FIXTURE_PLACES[id].country },
  });
  beforeAll(async () => {
    const file = path.join(dir, 'split.mmdb');
    writeFileSync(
      file,
      writeMmdb({
        ipVersion: 4,
        recordSize: 24,
        databaseType: 'GeoIP2-City',
        buildEpoch: 1,
        networks: [
          { cidr: '20.0.0.0/16', data: place('lon') },
          { cidr: '20.0.1.0/24', data: place('syd') },
          { cidr: '20.1.0.0/16', data: place('lon') },
        ],
      }),
    );
    s = await startServer(testConfig({ databases: [file], policies: POLICY }));
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ECS 20.0.0.0/16 -> lon with scope 24 (> 16): the /16 is not uniform', async () => {
    for (const [, query] of transports) {
      const r = await query(s.port, withEcs('cdn.example.net', 'A', '20.0.0.0/16'));
      expect(addresses(r)).toEqual([popAddress('lon', 'A')]);
      expect(r.ecs).toMatchObject({ source: 16, scope: 24 });
    }
    const inside = await udpQuery(s.port, withEcs('cdn.example.net', 'A', '20.0.1.0/24'));
    expect(addresses(inside)).toEqual([popAddress('syd', 'A')]);
    expect(inside.ecs!.scope).toBe(24);
    // 20.1.0.0/16 is uniform: scope 16.
    const other = await udpQuery(s.port, withEcs('cdn.example.net', 'A', '20.1.0.0/16'));
    expect(addresses(other)).toEqual([popAddress('lon', 'A')]);
    expect(other.ecs!.scope).toBe(16);
  });
});

describe('malformed ECS -> FORMERR', () => {
  const raw = (family: number, source: number, scope: number, addr: number[]) =>
    Buffer.from([family >> 8, family & 0xff, source, scope, ...addr]);
  const cases: Array<[string, Array<{ code: number; data: Buffer }>]> = [
    ['an option shorter than 4 bytes', [{ code: 8, data: Buffer.from([0, 1, 24]) }]],
    ['FAMILY 0', [{ code: 8, data: raw(0, 0, 0, []) }]],
    ['FAMILY 3', [{ code: 8, data: raw(3, 8, 0, [10]) }]],
    ['IPv4 SOURCE 33', [{ code: 8, data: raw(1, 33, 0, [1, 2, 3, 4, 0]) }]],
    ['IPv6 SOURCE 129', [{ code: 8, data: raw(2, 129, 0, new Array(17).fill(0)) }]],
    ['too many ADDRESS octets', [{ code: 8, data: raw(1, 24, 0, [6, 0, 1, 0]) }]],
    ['too few ADDRESS octets', [{ code: 8, data: raw(1, 24, 0, [6, 0]) }]],
    ['ADDRESS octets with SOURCE 0', [{ code: 8, data: raw(1, 0, 0, [6]) }]],
    ['bits set past SOURCE', [{ code: 8, data: raw(1, 23, 0, [6, 0, 1]) }]],
    ['IPv6 bits set past SOURCE', [{ code: 8, data: raw(2, 47, 0, [0x24, 0x01, 0, 2, 0, 3]) }]],
    ['SCOPE not 0 in a query', [{ code: 8, data: raw(1, 24, 24, [6, 0, 1]) }]],
    [
      'two ECS options',
      [
        { code: 8, data: raw(1, 24, 0, [6, 0, 1]) },
        { code: 8, data: raw(1, 16, 0, [6, 0]) },
      ],
    ],
  ];

  it.each(cases)('%s (UDP and TCP)', async (_what, options) => {
    const q: QueryOptions = { name: 'cdn.example.net', type: 'A', id: 4242, options };
    const udp = decodeReply((await udpRaw(t.port, buildQuery(q)))!);
    const [tcpRaw] = await tcpExchange(t.port, [buildQuery(q)]);
    for (const r of [udp, decodeReply(tcpRaw)] as Reply[]) {
      expect(r.rcode).toBe(1);
      expect(r.flags.qr).toBe(true);
      expect(r.packet.id).toBe(4242);
      expect(r.packet.answers ?? []).toEqual([]);
    }
  });

  it('the same ECS but well-formed is answered', async () => {
    const r = await udpQuery(t.port, {
      name: 'cdn.example.net',
      type: 'A',
      options: [{ code: 8, data: raw(1, 24, 0, [6, 0, 1]) }],
    });
    expect(r.rcode).toBe(0);
    expect(addresses(r)).toEqual([popAddress('syd', 'A')]);
  });
});

describe('CNAME to a geo name and the apex geo record', () => {
  it('to-geo.example.net with ECS: only the CNAME, scope 0 (RFC 7871 7.2.1)', async () => {
    for (const [, query] of transports) {
      for (const type of ['A', 'AAAA']) {
        const r = await query(t.port, withEcs('to-geo.example.net', type, '6.0.1.0/24'));
        expect(r.rcode).toBe(0);
        expect(answerSummary(r)).toEqual(['CNAME cdn.example.net']);
        expect(r.ecs).toMatchObject({ family: 1, source: 24, scope: 0 });
      }
    }
  });

  it('to-geo.example.net without ECS: the chain is chased to the geo answer (127.0.0.1 -> fra)', async () => {
    for (const [, query] of transports) {
      for (const type of ['A', 'AAAA']) {
        const r = await query(t.port, { name: 'to-geo.example.net', type, udpSize: 1232 });
        expect(r.rcode).toBe(0);
        expect(answerSummary(r)).toEqual(['CNAME cdn.example.net', `${type} ${popAddress('fra', type)}`]);
        expect(r.ecs).toBeNull();
      }
    }
  });

  it('the apex example.net A/AAAA is a geo answer', async () => {
    for (const [, query] of transports) {
      const ecs = await query(t.port, withEcs('example.net', 'A', '6.0.1.0/24'));
      expect(addresses(ecs)).toEqual([popAddress('syd', 'A')]);
      expect(ecs.ecs!.scope).toBe(16);
      const v6 = await query(t.port, withEcs('example.net', 'AAAA', '2800:1::/32'));
      expect(addresses(v6)).toEqual([popAddress('gru', 'AAAA')]);
      const plain = await query(t.port, { name: 'example.net', type: 'A' });
      expect(addresses(plain)).toEqual([popAddress('fra', 'A')]);
    }
  });
});

describe('without ECS: the packet source address decides', () => {
  it('from 127.0.0.1 (Berlin) -> fra, UDP and TCP, A and AAAA', async () => {
    for (const [, query] of transports) {
      for (const type of ['A', 'AAAA']) {
        const r = await query(t.port, { name: 'cdn.example.net', type });
        expect(addresses(r)).toEqual([popAddress('fra', type)]);
      }
    }
  });

  it('from ::1 (Berlin) -> fra', async () => {
    const r = await udpQuery(port6, { name: 'cdn.example.net', type: 'A' }, '::1');
    expect(addresses(r)).toEqual([popAddress('fra', 'A')]);
    const r2 = await tcpQuery(port6, { name: 'cdn.example.net', type: 'AAAA', udpSize: 1232 }, '::1');
    expect(addresses(r2)).toEqual([popAddress('fra', 'AAAA')]);
    expect(r2.ecs).toBeNull();
  });
});

describe('DB-IP layout (separate IPv4 and IPv6 files, no IPv4 inside the IPv6 file)', () => {
  let d: TestServer;
  beforeAll(async () => {
    d = await startServer(testConfig({ databases: [DBIP_V4, DBIP_V6], policies: POLICY }));
  });
  afterAll(() => d.close());

  it('IPv4 and IPv6 clients get the same PoPs as with city.mmdb', async () => {
    for (const [subnet, place] of [
      ['6.0.1.0/24', 'syd'],
      ['3.200.0.0/24', 'sfo'],
      ['2a02:1::/32', 'lon'],
      ['2c0f::/16', 'jnb'],
    ]) {
      const r = await udpQuery(d.port, withEcs('cdn.example.net', 'A', subnet));
      expect(addresses(r)).toEqual([popAddress(nearestPop(place), 'A')]);
      expect(r.ecs!.scope).toBe(expectedScope(subnet));
    }
  });

  it('an IPv4-mapped ECS answers like the IPv4 client', async () => {
    const r = await udpQuery(d.port, withEcs('cdn.example.net', 'A', '::ffff:6.0.0.0/120'));
    expect(addresses(r)).toEqual([popAddress('syd', 'A')]);
    expect(r.ecs!.scope).toBe(112);
  });

  it('a scope returned for a shorter IPv6 ECS never covers IPv4-mapped clients that are answered differently', async () => {
    // ::fffe:0:0/95 contains ::ffff:0:0/96, which the server answers as IPv4 (::ffff:6.0.0.0/120 -> syd).
    const outer = await udpQuery(d.port, withEcs('cdn.example.net', 'A', '::fffe:0:0/95'));
    expect(outer.rcode).toBe(0);
    const scope = outer.ecs!.scope;
    const claimed = prefixOf(cidr('::fffe:0:0').base, scope, 6);
    const inner = await udpQuery(d.port, withEcs('cdn.example.net', 'A', '::ffff:6.0.0.0/120'));
    if (contains(claimed, cidr('::ffff:6.0.0.0').base)) {
      expect(
        addresses(inner),
        `ECS ::fffe:0:0/95 was answered ${addresses(outer)} with scope /${scope}, which covers ::ffff:6.0.0.0, answered ${addresses(inner)}`,
      ).toEqual(addresses(outer));
    }
  });
});
