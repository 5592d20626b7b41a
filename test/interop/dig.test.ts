/**
 * BIND's dig (bind9-dnsutils) against a real Meridian server: authoritative
 * answers, negative answers with the SOA, REFUSED outside our zones,
 * truncation and the TCP retry, EDNS version negotiation (BADVERS), NSID,
 * CHAOS identity, EDNS Client Subnet with the scopes Meridian computes,
 * referrals with glue, and several queries on one kept-open TCP connection.
 * Everything is parsed from dig's own presentation output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/configs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { DIG, digLike, digOne, metricSum, rdata, requireTool, run, scrape } from './tools.js';

let t: TestServer;
let adminPort: number;

/** dig at our server, recursion off, no cookies (an authoritative server need not answer them). */
const dig = (...args: string[]) =>
  digOne(DIG, ['@127.0.0.1', '-p', String(t.port), '+norec', '+nocookie', '+time=3', '+tries=1', ...args]);

beforeAll(async () => {
  requireTool(DIG, 'bind9-dnsutils');
  t = await startServer(testConfig());
  adminPort = t.server.adminPort!;
});

afterAll(async () => {
  await t?.close();
});

describe('dig: authoritative answers', () => {
  it('dig is the BIND 9 dig this parser was written for', async () => {
    const r = await run(DIG, ['-v']);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/DiG 9\.\d+/);
  });

  it('www.example.net A: NOERROR, AA set, RD/RA clear, the zone data with its TTL', async () => {
    const m = await dig('www.example.net', 'A');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).toContain('qr');
    expect(m.flags).toContain('aa');
    expect(m.flags).not.toContain('rd');
    expect(m.flags).not.toContain('ra');
    expect(m.flags).not.toContain('tc');
    expect(m.answer).toEqual([{ name: 'www.example.net.', ttl: 3600, class: 'IN', type: 'A', data: '198.51.100.10' }]);
    expect(m.authority).toEqual([]);
    expect(m.ednsVersion).toBe(0);
    expect(m.transport).toBe('UDP');
    expect(m.server).toBe(`127.0.0.1#${t.port}`);
  });

  it('AAAA, CNAME chains and MX come back as zone data', async () => {
    const aaaa = await dig('www.example.net', 'AAAA');
    expect(rdata(aaaa.answer, 'AAAA')).toEqual(['2001:db8:100::10']);
    const chain = await dig('chain.example.net', 'A');
    expect(chain.status).toBe('NOERROR');
    expect(chain.flags).toContain('aa');
    expect(rdata(chain.answer, 'CNAME')).toEqual(['alias.example.net.', 'www.example.net.']);
    expect(rdata(chain.answer, 'A')).toEqual(['198.51.100.10']);
    const mx = await dig('example.net', 'MX');
    expect(rdata(mx.answer, 'MX')).toEqual(['10 mail.example.net.']);
  });

  it('NXDOMAIN: AA, empty answer, the zone SOA in AUTHORITY with the negative TTL', async () => {
    const m = await dig('nope.example.net', 'A');
    expect(m.status).toBe('NXDOMAIN');
    expect(m.flags).toContain('aa');
    expect(m.answer).toEqual([]);
    expect(m.authority).toHaveLength(1);
    const soa = m.authority[0];
    expect(soa.name).toBe('example.net.');
    expect(soa.type).toBe('SOA');
    // RFC 2308 section 3: the SOA TTL is min(SOA TTL 600, MINIMUM 300).
    expect(soa.ttl).toBe(300);
    expect(soa.data).toBe('ns1.example.net. hostmaster.example.net. 2026010101 7200 3600 1209600 300');
  });

  it('NODATA: NOERROR, AA, no answer, the SOA in AUTHORITY', async () => {
    const m = await dig('www.example.net', 'MX');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).toContain('aa');
    expect(m.answer).toEqual([]);
    expect(m.counts.answer).toBe(0);
    expect(m.authority.map((r) => [r.name, r.type, r.ttl])).toEqual([['example.net.', 'SOA', 300]]);
  });

  it('REFUSED for a zone we are not authoritative for (example.com), without AA', async () => {
    const m = await dig('www.example.com', 'A');
    expect(m.status).toBe('REFUSED');
    expect(m.flags).not.toContain('aa');
    expect(m.answer).toEqual([]);
    expect(m.authority).toEqual([]);
    const apex = await dig('example.com', 'SOA');
    expect(apex.status).toBe('REFUSED');
  });

  it('CHAOS TXT id.server and hostname.bind give the configured identity', async () => {
    const id = await dig('id.server', 'CH', 'TXT');
    expect(id.status).toBe('NOERROR');
    expect(rdata(id.answer, 'TXT')).toEqual(['"test-instance"']);
    expect(id.answer[0].class).toBe('CH');
    const host = await dig('hostname.bind', 'CH', 'TXT');
    expect(rdata(host.answer, 'TXT')).toEqual(['"test-instance"']);
  });
});

describe('dig: truncation and TCP', () => {
  it('big.example.net TXT over UDP with +bufsize=512 +ignore: TC set, nothing that does not fit, <= 512 bytes', async () => {
    const m = await dig('big.example.net', 'TXT', '+bufsize=512', '+ignore');
    expect(m.transport).toBe('UDP');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).toContain('tc');
    expect(m.flags).toContain('aa');
    expect(m.answer).toEqual([]);
    expect(m.size).not.toBeNull();
    expect(m.size!).toBeLessThanOrEqual(512);
  });

  it('without EDNS the UDP limit is 512 too: TC, and no OPT record in the response', async () => {
    const m = await dig('big.example.net', 'TXT', '+noedns', '+ignore');
    expect(m.flags).toContain('tc');
    expect(m.ednsVersion).toBeNull();
    expect(m.size!).toBeLessThanOrEqual(512);
    const small = await dig('www.example.net', 'A', '+noedns');
    expect(small.ednsVersion).toBeNull();
    expect(small.counts.additional).toBe(0);
    expect(rdata(small.answer, 'A')).toEqual(['198.51.100.10']);
  });

  it('the same query with +tcp: all 12 TXT strings, no TC', async () => {
    const m = await dig('big.example.net', 'TXT', '+tcp');
    expect(m.transport).toBe('TCP');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).not.toContain('tc');
    const txt = rdata(m.answer, 'TXT');
    expect(txt).toHaveLength(12);
    expect(txt.map((s) => s.slice(1, 3)).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => String(i).padStart(2, '0')),
    );
    for (const s of txt) expect(s).toMatch(/^"\d\d-x{200}"$/);
    expect(m.size!).toBeGreaterThan(2400);
  });

  it('dig without +ignore retries a truncated UDP answer over TCP and gets everything', async () => {
    const { messages, stdout } = await digLike(DIG, [
      '@127.0.0.1',
      '-p',
      String(t.port),
      '+norec',
      '+nocookie',
      '+time=3',
      '+tries=1',
      '+bufsize=512',
      'big.example.net',
      'TXT',
    ]);
    expect(stdout).toMatch(/Truncated, retrying in TCP mode/);
    const final = messages[messages.length - 1];
    expect(final.transport).toBe('TCP');
    expect(rdata(final.answer, 'TXT')).toHaveLength(12);
  });

  it('+tcp +keepopen with several names: every query answered, in order, on one TCP connection', async () => {
    const before = metricSum(await scrape(adminPort), 'meridian_tcp_connections_total', { result: 'accepted' });
    const { messages, stdout } = await digLike(DIG, [
      '@127.0.0.1',
      '-p',
      String(t.port),
      '+norec',
      '+nocookie',
      '+time=3',
      '+tries=1',
      '+tcp',
      '+keepopen',
      'www.example.net',
      'A',
      'mail.example.net',
      'A',
      'nope.example.net',
      'A',
      'www.example.net',
      'AAAA',
      'cdn.example.net',
      'A',
      '+subnet=6.0.1.0/24',
      'example.net',
      'TXT',
    ]);
    expect(messages, stdout).toHaveLength(6);
    for (const m of messages) expect(m.transport).toBe('TCP');
    expect(messages.map((m) => m.question)).toEqual([
      'www.example.net. IN A',
      'mail.example.net. IN A',
      'nope.example.net. IN A',
      'www.example.net. IN AAAA',
      'cdn.example.net. IN A',
      'example.net. IN TXT',
    ]);
    expect(messages.map((m) => m.status)).toEqual(['NOERROR', 'NOERROR', 'NXDOMAIN', 'NOERROR', 'NOERROR', 'NOERROR']);
    expect(rdata(messages[0].answer, 'A')).toEqual(['198.51.100.10']);
    expect(rdata(messages[1].answer, 'A')).toEqual(['198.51.100.25']);
    expect(rdata(messages[3].answer, 'AAAA')).toEqual(['2001:db8:100::10']);
    expect(rdata(messages[4].answer, 'A')).toEqual(['192.0.2.6']);
    expect(messages[4].ecs?.scope).toBeGreaterThan(0);
    expect(rdata(messages[5].answer, 'TXT')).toEqual(['"v=spf1 -all"']);
    const after = metricSum(await scrape(adminPort), 'meridian_tcp_connections_total', { result: 'accepted' });
    expect(after - before).toBe(1);
  });
});

describe('dig: EDNS', () => {
  it('+edns=1 +noednsnegotiation: BADVERS, answered with an OPT record of version 0, no data', async () => {
    const m = await dig('www.example.net', 'A', '+edns=1', '+noednsnegotiation');
    expect(m.status).toBe('BADVERS');
    expect(m.ednsVersion).toBe(0);
    expect(m.answer).toEqual([]);
    expect(m.flags).not.toContain('aa');
  });

  it('+edns=1 with negotiation: dig sees BADVERS, retries with version 0 and gets the answer', async () => {
    const { messages, stdout } = await digLike(DIG, [
      '@127.0.0.1',
      '-p',
      String(t.port),
      '+norec',
      '+nocookie',
      '+time=3',
      '+tries=1',
      '+edns=1',
      'www.example.net',
      'A',
    ]);
    expect(stdout).toMatch(/BADVERS, retrying with EDNS version 0/);
    const final = messages[messages.length - 1];
    expect(final.status).toBe('NOERROR');
    expect(rdata(final.answer, 'A')).toEqual(['198.51.100.10']);
  });

  it('+nsid: the NSID option carries the identity "test-instance"', async () => {
    const m = await dig('www.example.net', 'A', '+nsid');
    expect(m.status).toBe('NOERROR');
    expect(m.nsid).toBe('test-instance');
    expect(m.nsidText).toBe('test-instance');
    const without = await dig('www.example.net', 'A');
    expect(without.nsid).toBeNull();
  });

  it('+dnssec: the DO bit is copied into the response OPT (RFC 3225)', async () => {
    const m = await dig('www.example.net', 'A', '+dnssec');
    expect(m.ednsFlags).toContain('do');
    const plain = await dig('www.example.net', 'A');
    expect(plain.ednsFlags).not.toContain('do');
  });
});

describe('dig: EDNS Client Subnet', () => {
  it('cdn.example.net +subnet=6.0.1.0/24: Sydney answer, ECS echoed with a non-zero scope', async () => {
    const m = await dig('cdn.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).toContain('aa');
    expect(m.answer).toEqual([{ name: 'cdn.example.net.', ttl: 30, class: 'IN', type: 'A', data: '192.0.2.6' }]);
    expect(m.ecs).not.toBeNull();
    expect(m.ecs!.address).toBe('6.0.1.0');
    expect(m.ecs!.source).toBe(24);
    expect(m.ecs!.scope).toBeGreaterThan(0);
    expect(m.ecs!.scope).toBeLessThanOrEqual(32);
  });

  it('cdn.example.net AAAA +subnet=2401::/48: 2001:db8::6 with a non-zero IPv6 scope', async () => {
    const m = await dig('cdn.example.net', 'AAAA', '+subnet=2401::/48');
    expect(m.status).toBe('NOERROR');
    expect(rdata(m.answer, 'AAAA')).toEqual(['2001:db8::6']);
    expect(m.ecs).toMatchObject({ address: '2401::', source: 48 });
    expect(m.ecs!.scope).toBeGreaterThan(0);
    expect(m.ecs!.scope).toBeLessThanOrEqual(128);
  });

  it('the ECS family decides the place, not the qtype: AAAA for a Sydney IPv4 subnet, A for a Sydney IPv6 one', async () => {
    const aaaa = await dig('cdn.example.net', 'AAAA', '+subnet=6.0.1.0/24');
    expect(rdata(aaaa.answer, 'AAAA')).toEqual(['2001:db8::6']);
    const a = await dig('cdn.example.net', 'A', '+subnet=2401::/48');
    expect(rdata(a.answer, 'A')).toEqual(['192.0.2.6']);
  });

  it('other fixture continents through dig: Tokyo, Sao Paulo, Johannesburg, New York', async () => {
    const cases: Array<[string, string]> = [
      ['5.0.9.0/24', '192.0.2.5'],
      ['7.0.9.0/24', '192.0.2.7'],
      ['8.0.9.0/24', '192.0.2.8'],
      ['3.1.2.0/24', '192.0.2.3'],
    ];
    for (const [subnet, want] of cases) {
      const m = await dig('cdn.example.net', 'A', `+subnet=${subnet}`);
      expect(rdata(m.answer, 'A'), subnet).toEqual([want]);
      expect(m.ecs!.scope, subnet).toBeGreaterThan(0);
    }
  });

  it('a static name with +subnet: ECS echoed with scope 0', async () => {
    const m = await dig('www.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(rdata(m.answer, 'A')).toEqual(['198.51.100.10']);
    expect(m.ecs).toEqual({ address: '6.0.1.0', source: 24, scope: 0 });
    const nx = await dig('nope.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.ecs).toEqual({ address: '6.0.1.0', source: 24, scope: 0 });
  });

  it('+subnet=0.0.0.0/0 (client opts out): scope 0, answered for the source address (127.0.0.1 is Berlin -> fra)', async () => {
    const m = await dig('cdn.example.net', 'A', '+subnet=0.0.0.0/0');
    expect(m.ecs).toEqual({ address: '0.0.0.0', source: 0, scope: 0 });
    expect(rdata(m.answer, 'A')).toEqual(['192.0.2.1']);
  });

  it('two Frankfurt /24s share the same merged scope; the prefix at that scope is the same', async () => {
    const a = await dig('cdn.example.net', 'A', '+subnet=1.0.1.0/24');
    const b = await dig('cdn.example.net', 'A', '+subnet=1.0.200.0/24');
    expect(rdata(a.answer, 'A')).toEqual(['192.0.2.1']);
    expect(rdata(b.answer, 'A')).toEqual(['192.0.2.1']);
    expect(a.ecs!.scope).toBeGreaterThan(0);
    expect(a.ecs!.scope).toBeLessThanOrEqual(16);
    expect(b.ecs!.scope).toBe(a.ecs!.scope);
  });

  it('ECS over TCP behaves the same', async () => {
    const m = await dig('cdn.example.net', 'A', '+tcp', '+subnet=6.0.1.0/24');
    expect(m.transport).toBe('TCP');
    expect(rdata(m.answer, 'A')).toEqual(['192.0.2.6']);
    expect(m.ecs!.scope).toBeGreaterThan(0);
  });
});

describe('dig: referral', () => {
  for (const qname of ['sub.example.net', 'www.sub.example.net']) {
    it(`${qname} A: a referral (no AA), NS in AUTHORITY, in-bailiwick glue in ADDITIONAL`, async () => {
      const m = await dig(qname, 'A');
      expect(m.status).toBe('NOERROR');
      expect(m.flags).not.toContain('aa');
      expect(m.answer).toEqual([]);
      expect(m.authority.every((r) => r.name === 'sub.example.net.' && r.type === 'NS')).toBe(true);
      expect(rdata(m.authority, 'NS').sort()).toEqual(['ns.elsewhere.org.', 'ns1.sub.example.net.']);
      expect(m.additional).toEqual([
        { name: 'ns1.sub.example.net.', ttl: 3600, class: 'IN', type: 'A', data: '198.51.100.200' },
      ]);
    });
  }
});

describe('dig: odds and ends', () => {
  it('the qname spelling is echoed as sent (0x20-style mixed case), in the question and the answer owner', async () => {
    const m = await dig('CDN.Example.NET', 'A', '+subnet=6.0.1.0/24');
    expect(m.text).toMatch(/^;CDN\.Example\.NET\.\s+IN\s+A$/m);
    expect(m.text).toMatch(/^CDN\.Example\.NET\.\s+30\s+IN\s+A\s+192\.0\.2\.6$/m);
    expect(m.ecs!.scope).toBeGreaterThan(0);
  });

  it('a CNAME into the geo record, asked with ECS, is given alone with scope 0 (the resolver follows it)', async () => {
    const m = await dig('to-geo.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(m.status).toBe('NOERROR');
    expect(m.answer.map((r) => [r.type, r.data])).toEqual([['CNAME', 'cdn.example.net.']]);
    expect(m.ecs).toEqual({ address: '6.0.1.0', source: 24, scope: 0 });
    // Without ECS the chain is followed in one answer.
    const plain = await dig('to-geo.example.net', 'A');
    expect(plain.answer.map((r) => r.type)).toEqual(['CNAME', 'A']);
  });

  it('dig AXFR: the transfer is refused', async () => {
    const r = await run(DIG, [
      '-r',
      '@127.0.0.1',
      '-p',
      String(t.port),
      '+nocookie',
      '+time=3',
      '+tries=1',
      'example.net',
      'AXFR',
    ]);
    expect(`${r.stdout}${r.stderr}`).toMatch(/Transfer failed/);
    expect(r.stdout).not.toMatch(/IN\s+SOA/);
  });
});
