/**
 * DNS Cookies and response rate limiting with independent clients: BIND's
 * dig and Knot's kdig. `+cookie` gets a server cookie and the next query
 * carrying it is accepted (counted valid); with `cookies.require` both
 * clients get BADCOOKIE and retry with the fresh cookie on their own (RFC
 * 7873 5.3); and from a source whose UDP bucket is limited, dig without a
 * cookie gets a TC=1 slip and is served over TCP, while dig with a valid
 * server cookie is answered over UDP as if there were no flood.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/configs.js';
import { SourcedUdp, stream } from '../helpers/sourced.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { DIG, digLike, KDIG, metricSum, rdata, requireTool, scrape } from './tools.js';

/** The COOKIE option as dig (`; COOKIE: hex (good)`) or kdig (`;; COOKIE: HEX`) printed it, lower case. */
function printedCookie(text: string): string | null {
  const m = /COOKIE: ([0-9A-Fa-f]+)/.exec(text);
  return m ? m[1].toLowerCase() : null;
}

const digAt = (port: number, ...args: string[]) =>
  digLike(DIG, ['@127.0.0.1', '-p', String(port), '+norec', '+time=3', '+tries=1', ...args]);
const kdigAt = (port: number, ...args: string[]) =>
  digLike(KDIG, ['@127.0.0.1', '-p', String(port), '+norec', '+time=3', '+retry=0', ...args]);

beforeAll(() => {
  requireTool(DIG, 'bind9-dnsutils');
  requireTool(KDIG, 'knot-dnsutils');
});

describe('dig and kdig: server cookies (defaults)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig());
  });
  afterAll(() => t.close());

  for (const [tool, query] of [
    ['dig', digAt],
    ['kdig', kdigAt],
  ] as const) {
    it(`${tool} +cookie gets a server cookie, and the next query with it is accepted`, async () => {
      const first = await query(t.port, '+cookie', 'www.example.net', 'A');
      expect(first.messages[0].status).toBe('NOERROR');
      const cookie = printedCookie(first.stdout);
      // 8 bytes of client cookie + 16 of RFC 9018 server cookie (version 1, reserved, timestamp, hash).
      expect(cookie).toMatch(/^[0-9a-f]{16}01000000[0-9a-f]{24}$/);
      if (tool === 'dig') expect(first.stdout).toContain('(good)');
      const before = metricSum(await scrape(t.server.adminPort!), 'meridian_cookies_total', { result: 'valid' });
      const again = await query(t.port, `+cookie=${cookie}`, 'www.example.net', 'A');
      expect(again.messages[0].status).toBe('NOERROR');
      expect(rdata(again.messages[0].answer, 'A')).toEqual(['198.51.100.10']);
      // Still young: the same cookie comes back, and the server counted it valid.
      expect(printedCookie(again.stdout)).toBe(cookie);
      const after = metricSum(await scrape(t.server.adminPort!), 'meridian_cookies_total', { result: 'valid' });
      expect(after - before).toBe(1);
    });
  }

  it('a server cookie made for another client cookie is replaced, and the query still answered', async () => {
    const first = await digAt(t.port, '+cookie=0011223344556677', 'www.example.net', 'A');
    const cookie = printedCookie(first.stdout)!;
    const forged = `8899aabbccddeeff${cookie.slice(16)}`;
    const r = await digAt(t.port, `+cookie=${forged}`, 'www.example.net', 'A');
    expect(r.messages[0].status).toBe('NOERROR');
    const back = printedCookie(r.stdout)!;
    expect(back.slice(0, 16)).toBe('8899aabbccddeeff');
    expect(back.slice(16)).not.toBe(cookie.slice(16));
  });
});

describe('dig and kdig: cookies.require', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig({ extra: 'cookies: { require: true }\n' }));
  });
  afterAll(() => t.close());

  it('dig gets BADCOOKIE with a fresh cookie, retries with it on its own and is answered', async () => {
    const r = await digAt(t.port, '+cookie', 'www.example.net', 'A');
    expect(r.stdout).toMatch(/BADCOOKIE, retrying/);
    const last = r.messages.at(-1)!;
    expect(last.status).toBe('NOERROR');
    expect(rdata(last.answer, 'A')).toEqual(['198.51.100.10']);
    const m = await scrape(t.server.adminPort!);
    expect(metricSum(m, 'meridian_queries_total', { rcode: 'BADCOOKIE' })).toBeGreaterThanOrEqual(1);
  });

  it('kdig (+badcookie) does the same', async () => {
    const r = await kdigAt(t.port, '+cookie', '+badcookie', 'www.example.net', 'A');
    const last = r.messages.at(-1)!;
    expect(last.status).toBe('NOERROR');
    expect(rdata(last.answer, 'A')).toEqual(['198.51.100.10']);
  });

  it('clients without cookies are served as usual (RFC 7873 5.2.1)', async () => {
    const r = await digAt(t.port, '+nocookie', 'www.example.net', 'A');
    expect(r.messages[0].status).toBe('NOERROR');
  });
});

describe('dig from a rate-limited source', () => {
  let t: TestServer;
  const clients: SourcedUdp[] = [];
  beforeAll(async () => {
    // slip: 1: every limited response is a TC=1 slip, so what dig gets is certain.
    t = await startServer(testConfig({ extra: 'rrl: { responses_per_second: 5, slip: 1, exempt: [] }\n' }));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  it('without a cookie: the slip sends dig to TCP, where it is served; with a valid cookie: answered over UDP', async () => {
    const source = '127.0.31.1';
    // Learn a cookie from this source before the flood.
    const learn = await digAt(t.port, '-b', source, '+cookie', 'www.example.net', 'A');
    const cookie = printedCookie(learn.stdout)!;
    const flooder = await SourcedUdp.bind(source);
    clients.push(flooder);
    const flood = await stream(flooder, t.port, 200, () => ({ name: 'www.example.net' }), { perTick: 20, tickMs: 5 });
    expect(flood.slipped).toBeGreaterThan(100);

    const plain = await digAt(t.port, '-b', source, '+nocookie', '+ignore', 'www.example.net', 'A');
    // +ignore: dig shows the truncated UDP answer itself.
    expect(plain.messages[0].flags).toContain('tc');
    expect(plain.messages[0].answer).toEqual([]);
    const retried = await digAt(t.port, '-b', source, '+nocookie', 'www.example.net', 'A');
    const overTcp = retried.messages.at(-1)!;
    expect([overTcp.transport, overTcp.status, rdata(overTcp.answer, 'A')]).toEqual([
      'TCP',
      'NOERROR',
      ['198.51.100.10'],
    ]);

    const proven = await digAt(t.port, '-b', source, `+cookie=${cookie}`, 'www.example.net', 'A');
    expect(proven.messages).toHaveLength(1);
    const m = proven.messages[0];
    expect([m.transport, m.status, m.flags.includes('tc'), rdata(m.answer, 'A')]).toEqual([
      'UDP',
      'NOERROR',
      false,
      ['198.51.100.10'],
    ]);
  });
});
