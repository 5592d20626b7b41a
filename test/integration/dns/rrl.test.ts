/**
 * Response rate limiting and DNS Cookies on a real server over real sockets.
 * Each client binds its own source address in 127.0.0.0/8, one per /24, so
 * one test plays a flooding (or spoofed-victim) network, a resolver in
 * another network and one in the flooder's network: RRL keys on the packet
 * source cut to /24. The configs set `exempt: []` (loopback is exempt by
 * default, docs/config.md#rrl).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_ZONE, testConfig } from '../../helpers/configs.js';
import { buildQuery, decodeReply, tcpExchange, udpQuery } from '../../helpers/dns.js';
import { SourcedUdp, stream } from '../../helpers/sourced.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { get, getJson, metric, scrape } from '../ops/admin-http.js';

const RATE = 50;
const ORG_ZONE = `
  - origin: example.org.
    soa: { mname: ns1, rname: hostmaster@example.org, serial: 1, minimum: 300 }
    ns: [ns1]
    records:
      ns1: { A: [198.51.100.54] }
      www: { A: [198.51.100.11] }
`;

function rrlConfig(rrl: string): string {
  return testConfig({ zones: `${STATIC_ZONE}${ORG_ZONE}`, extra: `rrl: { ${rrl} }\n` });
}

const CLIENT_COOKIE = Buffer.from('a1b2c3d4e5f60718', 'hex');
const clients: SourcedUdp[] = [];
async function from(address: string): Promise<SourcedUdp> {
  const c = await SourcedUdp.bind(address);
  clients.push(c);
  return c;
}
afterAll(() => {
  for (const c of clients.splice(0)) c.close();
});

describe(`RRL enforcing: ${RATE} responses/s per (/24, class), slip 2, exempt []`, () => {
  let t: TestServer;
  let admin: number;
  beforeAll(async () => {
    t = await startServer(rrlConfig(`responses_per_second: ${RATE}, window: 5, slip: 2, exempt: []`));
    admin = t.server.adminPort!;
  });
  afterAll(() => t.close());

  it('a flood from one source gets its burst and the slip share; a resolver in another /24 is answered in full; TCP from the flooder is served', async () => {
    const flooder = await from('127.0.5.1');
    const resolver = await from('127.0.6.1');
    // 2000 queries for one name in about 2 s (1000/s, twenty times the limit) while the
    // resolver asks for the same name 20 times a second.
    const [flood, normal] = await Promise.all([
      stream(flooder, t.port, 2000, () => ({ name: 'www.example.net' }), { perTick: 10, tickMs: 10 }),
      stream(resolver, t.port, 40, () => ({ name: 'www.example.net' }), { tickMs: 50 }),
    ]);
    // At most the rate over the flood's duration plus one second of burst; BIND's accounting
    // leaves a source that stays over the rate with little more than its burst.
    const seconds = flood.elapsedMs / 1000;
    expect(flood.full).toBeGreaterThanOrEqual(RATE - 1);
    expect(flood.full).toBeLessThanOrEqual(Math.ceil(RATE * (seconds + 1)));
    // Every second limited response is a truncated slip, the others are dropped.
    const limited = flood.sent - flood.full;
    expect(flood.slipped).toBeGreaterThanOrEqual(Math.floor(limited / 2) - 5);
    expect(flood.slipped).toBeLessThanOrEqual(Math.ceil(limited / 2) + 5);
    expect(flood.full + flood.slipped + flood.none).toBe(flood.sent);
    // A slip is a minimal answer: the question, no records, TC=1, never larger than the query.
    const slip = flood.replies.find((r) => r.flags.tc)!;
    expect([slip.flags.aa, slip.packet.questions?.[0].name, slip.raw.length]).toEqual([
      true,
      'www.example.net',
      buildQuery({ name: 'www.example.net' }).length,
    ]);
    // The other network: every query answered in full.
    expect([normal.full, normal.slipped, normal.none]).toEqual([40, 0, 0]);

    // A real resolver behind the flooding address retries over TCP and is served.
    const [raw] = await tcpExchange(t.port, [buildQuery({ name: 'www.example.net', id: 77 })], {
      localAddress: '127.0.5.1',
    });
    const over = decodeReply(raw);
    expect([over.rcode, over.flags.tc, over.packet.answers?.length]).toEqual([0, false, 1]);

    // Counted, and shown by the admin view with the bucket first.
    const m = await scrape(admin);
    expect(metric(m, 'meridian_rrl_responses_total', { action: 'slip' })).toBe(flood.slipped);
    expect(metric(m, 'meridian_rrl_responses_total', { action: 'drop' })).toBe(flood.none);
    expect(metric(m, 'meridian_rrl_table_buckets')).toBeGreaterThanOrEqual(2);
    const view = await getJson<{ enabled: boolean; buckets: Array<Record<string, unknown>> }>(admin, '/admin/rrl');
    expect(view.enabled).toBe(true);
    expect(view.buckets[0]).toMatchObject({
      network: '127.0.5.0/24',
      kind: 'answer',
      name: 'www.example.net.',
      qtype: 1,
      limitedNow: true,
    });
    expect(view.buckets.find((b) => b.network === '127.0.6.0/24')).toMatchObject({ limited: 0, limitedNow: false });
    expect((await get(admin, '/admin/rrl?limit=0')).status).toBe(400);
  });

  it('a client with a valid server cookie is answered in full during a flood from its own /24', async () => {
    const flooder = await from('127.0.7.1');
    const neighbour = await from('127.0.7.2');
    // Learn a cookie first (the answer carries client cookie + server cookie).
    const first = await neighbour.query(t.port, { name: 'mail.example.net', cookie: CLIENT_COOKIE });
    expect(first?.cookie?.subarray(0, 8)).toEqual(CLIENT_COOKIE);
    const cookie = first!.cookie!;
    expect(cookie).toHaveLength(24);
    const [flood, withCookie] = await Promise.all([
      stream(flooder, t.port, 1500, () => ({ name: 'mail.example.net' }), { perTick: 10, tickMs: 10 }),
      stream(neighbour, t.port, 60, () => ({ name: 'mail.example.net', cookie }), { tickMs: 25 }),
    ]);
    expect(flood.full).toBeLessThanOrEqual(Math.ceil(RATE * (flood.elapsedMs / 1000 + 1)));
    expect(flood.none).toBeGreaterThan(0);
    expect([withCookie.full, withCookie.slipped, withCookie.badcookie, withCookie.none]).toEqual([60, 0, 0, 0]);
    // Every answer echoes the still-young cookie.
    expect(withCookie.replies.every((r) => r.cookie?.equals(cookie))).toBe(true);
    const m = await scrape(admin);
    expect(metric(m, 'meridian_rrl_exempt_total', { reason: 'cookie' })).toBeGreaterThanOrEqual(60);
    expect(metric(m, 'meridian_cookies_total', { result: 'valid' })).toBeGreaterThanOrEqual(60);
  });

  it('a limited query with a client cookie slips as BADCOOKIE with a fresh cookie, and the retry with it is answered', async () => {
    const client = await from('127.0.8.1');
    const flood = await stream(client, t.port, 400, () => ({ name: 'ns1.example.net', cookie: CLIENT_COOKIE }), {
      perTick: 20,
      tickMs: 5,
    });
    expect(flood.badcookie).toBeGreaterThan(100);
    expect(flood.slipped).toBe(0);
    const bad = flood.replies.find((r) => r.rcode === 23)!;
    expect([bad.flags.tc, bad.packet.answers?.length ?? 0, bad.cookie?.length]).toEqual([true, 0, 24]);
    expect(bad.cookie!.subarray(0, 8)).toEqual(CLIENT_COOKIE);
    // The resolver comes back with the cookie: proven, not limited.
    const retry = await client.query(t.port, { name: 'ns1.example.net', cookie: bad.cookie! });
    expect([retry?.rcode, retry?.flags.tc, retry?.packet.answers?.length]).toEqual([0, false, 1]);
  });

  it('NXDOMAIN floods for random names share one bucket per zone', async () => {
    const client = await from('127.0.9.1');
    const random = (zone: string) => () => ({ name: `r${Math.random().toString(36).slice(2)}.${zone}` });
    const net = await stream(client, t.port, 600, random('example.net'), { perTick: 20, tickMs: 10 });
    expect(net.full).toBeGreaterThanOrEqual(RATE - 1);
    expect(net.full).toBeLessThanOrEqual(Math.ceil(RATE * (net.elapsedMs / 1000 + 1)));
    expect(net.replies.filter((r) => !r.flags.tc).every((r) => r.rcode === 3)).toBe(true);
    // The other zone has a bucket of its own: its burst is answered.
    const org = await stream(client, t.port, 30, random('example.org'), { tickMs: 5 });
    expect(org.full).toBe(30);
    const view = await getJson<{ buckets: Array<Record<string, unknown>> }>(admin, '/admin/rrl?limit=50');
    expect(
      view.buckets.find((b) => b.network === '127.0.9.0/24' && b.kind === 'nxdomain' && b.limitedNow),
    ).toMatchObject({ name: 'example.net.' });
  });

  it('errors (REFUSED outside our zones) are limited per network', async () => {
    const client = await from('127.0.10.1');
    const out = await stream(client, t.port, 400, (i) => ({ name: `x${i}.example.com` }), { perTick: 20, tickMs: 5 });
    expect(out.full).toBeLessThanOrEqual(Math.ceil(RATE * (out.elapsedMs / 1000 + 1)));
    expect(out.replies.filter((r) => !r.flags.tc).every((r) => r.rcode === 5)).toBe(true);
  });

  it('loopback itself is not exempt here (exempt: [])', async () => {
    const local = await from('127.0.0.1');
    const out = await stream(local, t.port, 200, () => ({ name: 'sip.example.net' }), { perTick: 50, tickMs: 5 });
    expect(out.full).toBeLessThan(200);
    expect(out.slipped).toBeGreaterThan(0);
  });
});

describe('RRL log-only', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(rrlConfig(`responses_per_second: ${RATE}, log_only: true, exempt: []`));
  });
  afterAll(() => t.close());

  it('answers every query of a flood in full and only counts what it would have done', async () => {
    const flooder = await from('127.0.11.1');
    const flood = await stream(flooder, t.port, 1000, () => ({ name: 'www.example.net' }), { perTick: 10, tickMs: 10 });
    expect([flood.full, flood.slipped, flood.none]).toEqual([1000, 0, 0]);
    const m = await scrape(t.server.adminPort!);
    const pass = metric(m, 'meridian_rrl_responses_total', { action: 'pass' })!;
    const drop = metric(m, 'meridian_rrl_responses_total', { action: 'drop' })!;
    const slip = metric(m, 'meridian_rrl_responses_total', { action: 'slip' })!;
    expect(pass + drop + slip).toBe(1000);
    expect(pass).toBeLessThanOrEqual(Math.ceil(RATE * (flood.elapsedMs / 1000 + 1)));
    expect(Math.abs(drop - slip)).toBeLessThanOrEqual(1);
    expect(metric(m, 'meridian_rrl_log_only')).toBe(1);
  });
});

describe('RRL defaults', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig());
  });
  afterAll(() => t.close());

  it('is on at 200/s and leaves loopback alone: a burst of 400 from 127.0.0.1 is answered in full', async () => {
    const replies = await Promise.all(Array.from({ length: 400 }, () => udpQuery(t.port, { name: 'www.example.net' })));
    expect(replies.every((r) => !r.flags.tc && r.packet.answers?.length === 1)).toBe(true);
    const m = await scrape(t.server.adminPort!);
    expect(metric(m, 'meridian_rrl_exempt_total', { reason: 'prefix' })).toBe(400);
    expect(metric(m, 'meridian_rrl_table_capacity_buckets')).toBe(131072);
  });

  it('every source in 127.0.0.0/8 is exempt (a spoofed loopback source cannot come from the network)', async () => {
    const local = await from('127.0.12.1');
    const flood = await stream(local, t.port, 500, () => ({ name: 'www.example.net' }), { perTick: 25, tickMs: 5 });
    expect(flood.full).toBe(500);
  });
});

describe('DNS Cookies', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig());
  });
  afterAll(() => t.close());

  it('every answer to a query with a client cookie carries a server cookie, over UDP and TCP, errors included', async () => {
    const udp = await udpQuery(t.port, { name: 'www.example.net', cookie: CLIENT_COOKIE });
    expect(udp.cookie?.subarray(0, 8)).toEqual(CLIENT_COOKIE);
    expect(udp.cookie?.[8]).toBe(1); // RFC 9018 version 1
    const [raw] = await tcpExchange(t.port, [buildQuery({ name: 'nope.example.com', cookie: CLIENT_COOKIE })]);
    const refused = decodeReply(raw);
    expect([refused.rcode, refused.cookie?.length]).toEqual([5, 24]);
    // A server cookie is bound to the client's address: from another address it is invalid, and replaced.
    const other = await from('127.0.13.1');
    const moved = await other.query(t.port, { name: 'www.example.net', cookie: udp.cookie! });
    expect(moved?.rcode).toBe(0);
    expect(moved?.cookie?.subarray(8)).not.toEqual(udp.cookie!.subarray(8));
  });

  it('a malformed COOKIE option is a FORMERR without a cookie', async () => {
    const r = await udpQuery(t.port, { name: 'www.example.net', cookie: Buffer.alloc(5) });
    expect([r.rcode, r.cookie]).toEqual([1, null]);
  });

  it('a query without a question but with a cookie gets the cookie (RFC 7873 5.4); an invalid one BADCOOKIE', async () => {
    const client = await from('127.0.14.1');
    const noQuestion = (cookie: Buffer) => {
      const q = buildQuery({ name: 'www.example.net', cookie });
      // Drop the question: QDCOUNT 0, the OPT record right after the header.
      let off = 12;
      while (q[off] !== 0) off += q[off] + 1;
      const bare = Buffer.concat([q.subarray(0, 12), q.subarray(off + 5)]);
      bare.writeUInt16BE(0, 4);
      return bare;
    };
    const send = async (msg: Buffer) => (await client.exchange(t.port, msg))!;
    const r = decodeReply(await send(noQuestion(CLIENT_COOKIE)));
    expect([r.rcode, r.packet.questions?.length ?? 0, r.cookie?.length]).toEqual([0, 0, 24]);
    const again = decodeReply(await send(noQuestion(r.cookie!)));
    expect([again.rcode, again.cookie?.subarray(8)]).toEqual([0, r.cookie!.subarray(8)]);
    const forged = Buffer.from(r.cookie!);
    forged[23] ^= 0xff;
    const bad = decodeReply(await send(noQuestion(forged)));
    expect([bad.rcode, bad.cookie?.length]).toEqual([23, 24]);
  });

  it('NSID and CHAOS id.server answer nothing by default (server_id: none)', async () => {
    const s = await startServer(testConfig().replace('  server_id: identity\n', ''));
    try {
      const nsid = await udpQuery(s.port, { name: 'www.example.net', nsid: true });
      expect([nsid.rcode, nsid.nsid]).toEqual([0, null]);
      const chaos = await udpQuery(s.port, { name: 'id.server', type: 'TXT', qclass: 'CH' });
      expect(chaos.rcode).toBe(5);
    } finally {
      await s.close();
    }
  });
});

describe('TCP from a flooding address', () => {
  it('completes its query while its UDP bucket is limited', async () => {
    const t = await startServer(rrlConfig('responses_per_second: 10, exempt: []'));
    try {
      const flooder = await from('127.0.15.1');
      const flood = await stream(flooder, t.port, 300, () => ({ name: 'www.example.net' }), { perTick: 30, tickMs: 5 });
      expect(flood.none).toBeGreaterThan(0);
      const [raw] = await tcpExchange(t.port, [buildQuery({ name: 'www.example.net', id: 5 })], {
        localAddress: '127.0.15.1',
      });
      expect(decodeReply(raw).packet.answers?.length).toBe(1);
    } finally {
      await t.close();
    }
  });
});
