/**
 * Knot's kdig (knot-dnsutils) against a real Meridian server: the core
 * checks again with a second, independent client implementation and its own
 * output format (";; CLIENT-SUBNET: a/source/scope", ";; NSID: HEX "text""),
 * several queries on one kept-open TCP connection, and IPv6 transport to
 * ::1 on a server listening on 127.0.0.1 and [::1] with one shared port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/configs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { KDIG, digLike, digOne, freePort, metricSum, rdata, requireTool, run, scrape } from './tools.js';

let t: TestServer;
let adminPort: number;

const kdigAt = (host: string, port: number, ...args: string[]) =>
  digOne(KDIG, [`@${host}`, '-p', String(port), '+norec', '+time=3', '+retry=0', ...args]);
const kdig = (...args: string[]) => kdigAt('127.0.0.1', t.port, ...args);

beforeAll(async () => {
  requireTool(KDIG, 'knot-dnsutils');
  t = await startServer(testConfig());
  adminPort = t.server.adminPort!;
});

afterAll(async () => {
  await t?.close();
});

describe('kdig: core answers', () => {
  it('kdig is Knot DNS kdig', async () => {
    const r = await run(KDIG, ['-V']);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/kdig \(Knot DNS\), version \d+\.\d+/);
  });

  it('www.example.net A: NOERROR, AA, no RD/RA; kdig sends no EDNS by default and gets none back', async () => {
    const m = await kdig('www.example.net', 'A');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).toEqual(expect.arrayContaining(['qr', 'aa']));
    expect(m.flags).not.toContain('rd');
    expect(m.flags).not.toContain('ra');
    expect(m.answer).toEqual([{ name: 'www.example.net.', ttl: 3600, class: 'IN', type: 'A', data: '198.51.100.10' }]);
    expect(m.ednsVersion).toBeNull();
    expect(m.counts.additional).toBe(0);
    expect(m.transport).toBe('UDP');
    expect(m.server).toBe(`127.0.0.1@${t.port}`);
  });

  it('NXDOMAIN with the SOA (negative TTL 300) in AUTHORITY', async () => {
    const m = await kdig('nope.example.net', 'A');
    expect(m.status).toBe('NXDOMAIN');
    expect(m.flags).toContain('aa');
    expect(m.answer).toEqual([]);
    expect(m.authority.map((r) => [r.name, r.type, r.ttl])).toEqual([['example.net.', 'SOA', 300]]);
  });

  it('NODATA with the SOA in AUTHORITY', async () => {
    const m = await kdig('mail.example.net', 'TXT');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).toContain('aa');
    expect(m.answer).toEqual([]);
    expect(m.authority.map((r) => [r.name, r.type])).toEqual([['example.net.', 'SOA']]);
  });

  it('REFUSED for example.com', async () => {
    const m = await kdig('www.example.com', 'A');
    expect(m.status).toBe('REFUSED');
    expect(m.flags).not.toContain('aa');
    expect(m.answer).toEqual([]);
  });

  it('referral for sub.example.net: no AA, NS in AUTHORITY, glue in ADDITIONAL', async () => {
    const m = await kdig('host.sub.example.net', 'AAAA');
    expect(m.status).toBe('NOERROR');
    expect(m.flags).not.toContain('aa');
    expect(m.answer).toEqual([]);
    expect(rdata(m.authority, 'NS').sort()).toEqual(['ns.elsewhere.org.', 'ns1.sub.example.net.']);
    expect(m.additional.map((r) => [r.name, r.type, r.data])).toEqual([
      ['ns1.sub.example.net.', 'A', '198.51.100.200'],
    ]);
  });
});

describe('kdig: size limits and TCP', () => {
  it('+bufsize=512 +ignore over UDP: TC set and the reply fits 512 bytes', async () => {
    const m = await kdig('big.example.net', 'TXT', '+bufsize=512', '+ignore');
    expect(m.transport).toBe('UDP');
    expect(m.flags).toContain('tc');
    expect(m.answer).toEqual([]);
    expect(m.size!).toBeLessThanOrEqual(512);
    // The OPT record is still there (EDNS was requested) and advertises our own size.
    expect(m.ednsVersion).toBe(0);
  });

  it('+tcp: the full 12-string TXT RRset', async () => {
    const m = await kdig('big.example.net', 'TXT', '+tcp');
    expect(m.transport).toBe('TCP');
    expect(m.flags).not.toContain('tc');
    expect(rdata(m.answer, 'TXT')).toHaveLength(12);
  });

  it('kdig falls back to TCP by itself on TC (no +ignore)', async () => {
    const { messages, stdout } = await digLike(KDIG, [
      '@127.0.0.1',
      '-p',
      String(t.port),
      '+norec',
      '+time=3',
      '+retry=0',
      '+bufsize=512',
      'big.example.net',
      'TXT',
    ]);
    const final = messages[messages.length - 1];
    expect(final.transport, stdout).toBe('TCP');
    expect(rdata(final.answer, 'TXT')).toHaveLength(12);
  });

  it('+tcp +keepopen with several queries: all answered, on one TCP connection', async () => {
    const before = metricSum(await scrape(adminPort), 'meridian_tcp_connections_total', { result: 'accepted' });
    const { messages, stdout } = await digLike(KDIG, [
      '@127.0.0.1',
      '-p',
      String(t.port),
      '+norec',
      '+time=3',
      '+retry=0',
      '+tcp',
      '+keepopen',
      'www.example.net',
      'A',
      'nope.example.net',
      'A',
      'cdn.example.net',
      'AAAA',
      '+subnet=2401::/48',
      'big.example.net',
      'TXT',
      'www.sub.example.net',
      'A',
      'cdn.example.net',
      'A',
      '+subnet=5.0.3.0/24',
      '+nsid',
    ]);
    expect(messages, stdout).toHaveLength(6);
    for (const m of messages) expect(m.transport).toBe('TCP');
    expect(messages.map((m) => m.status)).toEqual(['NOERROR', 'NXDOMAIN', 'NOERROR', 'NOERROR', 'NOERROR', 'NOERROR']);
    expect(rdata(messages[0].answer, 'A')).toEqual(['198.51.100.10']);
    expect(rdata(messages[2].answer, 'AAAA')).toEqual(['2001:db8::6']);
    expect(messages[2].ecs).toMatchObject({ address: '2401::', source: 48 });
    expect(rdata(messages[3].answer, 'TXT')).toHaveLength(12);
    expect(messages[4].flags).not.toContain('aa');
    expect(rdata(messages[4].authority, 'NS')).toHaveLength(2);
    expect(rdata(messages[5].answer, 'A')).toEqual(['192.0.2.5']);
    expect(messages[5].nsid).toBe('test-instance');
    const after = metricSum(await scrape(adminPort), 'meridian_tcp_connections_total', { result: 'accepted' });
    expect(after - before).toBe(1);
  });
});

describe('kdig: EDNS', () => {
  it('+edns=1: BADVERS (kdig does not renegotiate), with an OPT record of version 0', async () => {
    const m = await kdig('www.example.net', 'A', '+edns=1');
    expect(m.status).toBe('BADVERS');
    expect(m.ednsVersion).toBe(0);
    expect(m.answer).toEqual([]);
    // kdig prints the 12-bit rcode in the OPT line as well.
    expect(m.text).toMatch(/ext-rcode: BADVERS/);
  });

  it('+nsid: kdig decodes the NSID hex to "test-instance"', async () => {
    const m = await kdig('www.example.net', 'A', '+nsid');
    expect(m.nsid).toBe('test-instance');
    expect(m.nsidText).toBe('test-instance');
    expect(m.text).toMatch(/NSID: 746573742D696E7374616E6365 "test-instance"/i);
  });

  it('+nsid over TCP as well', async () => {
    const m = await kdig('www.example.net', 'A', '+nsid', '+tcp');
    expect(m.transport).toBe('TCP');
    expect(m.nsid).toBe('test-instance');
  });
});

describe('kdig: raw EDNS options (+ednsopt)', () => {
  it('an unknown option (65001) and padding are ignored, and a client cookie changes nothing in the answer: a normal answer', async () => {
    for (const extra of ['+ednsopt=65001:00ff', '+padding=128', '+cookie']) {
      const m = await kdig('www.example.net', 'A', extra);
      expect(m.status, extra).toBe('NOERROR');
      expect(rdata(m.answer, 'A'), extra).toEqual(['198.51.100.10']);
    }
  });

  it('a hand-made ECS option equal to +subnet=6.0.1.0/24 gets the same answer and scope', async () => {
    const raw = await kdig('cdn.example.net', 'A', '+ednsopt=8:00011800060001');
    const viaSubnet = await kdig('cdn.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(raw.status).toBe('NOERROR');
    expect(rdata(raw.answer, 'A')).toEqual(['192.0.2.6']);
    expect(raw.ecs).toEqual(viaSubnet.ecs);
  });

  it('RFC 7871: two ECS options, or an ADDRESS shorter than SOURCE PREFIX-LENGTH needs, is FORMERR', async () => {
    const two = await kdig('cdn.example.net', 'A', '+subnet=6.0.1.0/24', '+ednsopt=8:00011800060001');
    expect(two.status).toBe('FORMERR');
    expect(two.answer).toEqual([]);
    const short = await kdig('cdn.example.net', 'A', '+ednsopt=8:000118000600');
    expect(short.status).toBe('FORMERR');
  });

  it('ADDRESS bits past SOURCE PREFIX-LENGTH must be zero: 6.0.1/20 is FORMERR, 6.0.240/20 is fine', async () => {
    // /20 takes 3 address bytes; only the top 4 bits of the third may be set.
    const dirty = await kdig('cdn.example.net', 'A', '+ednsopt=8:00011400060001');
    expect(dirty.status).toBe('FORMERR');
    const clean = await kdig('cdn.example.net', 'A', '+ednsopt=8:000114000600f0');
    expect(clean.status).toBe('NOERROR');
    expect(rdata(clean.answer, 'A')).toEqual(['192.0.2.6']);
    expect(clean.ecs).toMatchObject({ address: '6.0.240.0', source: 20 });
  });
});

describe('kdig: EDNS Client Subnet', () => {
  it('+subnet=6.0.1.0/24: Sydney, and kdig shows the echoed option with a non-zero scope', async () => {
    const m = await kdig('cdn.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(rdata(m.answer, 'A')).toEqual(['192.0.2.6']);
    expect(m.answer[0].ttl).toBe(30);
    expect(m.ecs).not.toBeNull();
    expect(m.ecs!.address).toBe('6.0.1.0');
    expect(m.ecs!.source).toBe(24);
    expect(m.ecs!.scope).toBeGreaterThan(0);
    expect(m.ecs!.scope).toBeLessThanOrEqual(32);
    expect(m.text).toMatch(/^;; CLIENT-SUBNET: 6\.0\.1\.0\/24\/\d+$/m);
  });

  it('+subnet=2401::/48 AAAA: 2001:db8::6 with a non-zero scope', async () => {
    const m = await kdig('cdn.example.net', 'AAAA', '+subnet=2401::/48');
    expect(rdata(m.answer, 'AAAA')).toEqual(['2001:db8::6']);
    expect(m.ecs).toMatchObject({ address: '2401::', source: 48 });
    expect(m.ecs!.scope).toBeGreaterThan(0);
  });

  it('kdig and dig agree on the scope (same server, same subnet)', async () => {
    const a = await kdig('cdn.example.net', 'A', '+subnet=1.0.1.0/24');
    const b = await kdig('cdn.example.net', 'A', '+subnet=1.0.200.0/24', '+tcp');
    expect(rdata(a.answer, 'A')).toEqual(['192.0.2.1']);
    expect(rdata(b.answer, 'A')).toEqual(['192.0.2.1']);
    expect(a.ecs!.scope).toBeGreaterThan(0);
    expect(b.ecs!.scope).toBe(a.ecs!.scope);
  });

  it('a static name: scope 0', async () => {
    const m = await kdig('www.example.net', 'A', '+subnet=6.0.1.0/24');
    expect(m.ecs).toEqual({ address: '6.0.1.0', source: 24, scope: 0 });
  });

  it('+subnet=0.0.0.0/0: scope 0, the answer follows the source address', async () => {
    const m = await kdig('cdn.example.net', 'A', '+subnet=0.0.0.0/0');
    expect(m.ecs).toEqual({ address: '0.0.0.0', source: 0, scope: 0 });
    expect(rdata(m.answer, 'A')).toEqual(['192.0.2.1']);
  });
});

describe('kdig: IPv6 transport', () => {
  let t6: TestServer;
  let port: number;

  beforeAll(async () => {
    // Both listeners on one port (as in production, where both would be :53):
    // pick a port free on both loopbacks, retrying if it is taken meanwhile.
    let lastErr: unknown;
    for (let attempt = 0; attempt < 5 && !t6; attempt++) {
      port = await freePort(['127.0.0.1', '::1']);
      try {
        t6 = await startServer(testConfig(), { listen: [`127.0.0.1:${port}`, `[::1]:${port}`] });
      } catch (err) {
        lastErr = err;
      }
    }
    if (!t6) throw lastErr;
  });

  afterAll(async () => {
    await t6?.close();
  });

  it('the server listens on 127.0.0.1 and ::1 with the same port', () => {
    expect(t6.server.addresses).toEqual([
      { host: '127.0.0.1', port },
      { host: '::1', port },
    ]);
  });

  it('UDP to ::1: answered from ::1, and the geo answer follows the IPv6 source (::1 is Berlin -> fra)', async () => {
    const m = await kdigAt('::1', port, 'cdn.example.net', 'AAAA');
    expect(m.server).toBe(`::1@${port}`);
    expect(m.transport).toBe('UDP');
    expect(m.status).toBe('NOERROR');
    expect(rdata(m.answer, 'AAAA')).toEqual(['2001:db8::1']);
    const www = await kdigAt('::1', port, 'www.example.net', 'A', '+nsid');
    expect(rdata(www.answer, 'A')).toEqual(['198.51.100.10']);
    expect(www.nsid).toBe('test-instance');
  });

  it('TCP to ::1 with ECS for Tokyo, and a TC answer over UDP to ::1', async () => {
    const m = await kdigAt('::1', port, 'cdn.example.net', 'A', '+tcp', '+subnet=5.0.0.0/24');
    expect(m.server).toBe(`::1@${port}`);
    expect(m.transport).toBe('TCP');
    expect(rdata(m.answer, 'A')).toEqual(['192.0.2.5']);
    expect(m.ecs!.scope).toBeGreaterThan(0);
    const big = await kdigAt('::1', port, 'big.example.net', 'TXT', '+bufsize=512', '+ignore');
    expect(big.flags).toContain('tc');
  });

  it('the IPv4 listener on the same port still answers', async () => {
    const m = await kdigAt('127.0.0.1', port, 'cdn.example.net', 'A', '+subnet=7.0.0.0/24');
    expect(rdata(m.answer, 'A')).toEqual(['192.0.2.7']);
  });
});
