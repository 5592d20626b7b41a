/**
 * DNS Cookies on the server side: RFC 9018 Appendix A (every exchange, byte
 * for byte), the RFC 7873 section 5.2 decision table with the `require`
 * policy over UDP and TCP, malformed lengths, the timestamp window (an hour
 * back, five minutes ahead, a fresh cookie after half an hour, serial number
 * arithmetic), secret rotation and cookie requests without a question (5.4).
 */
import { describe, expect, it } from 'vitest';
import {
  CookieAction,
  CookieInvalid,
  CookieResult,
  CookieStat,
  CookieVerdict,
  ServerCookies,
  type CookiePolicy,
} from '../../../src/cookie/evaluate.js';
import { cookieSecretFromHex, randomCookieSecret } from '../../../src/cookie/secret.js';
import { CookieSigner } from '../../../src/cookie/server-cookie.js';
import { parseIp } from '../../../src/net/ip.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const SECRET_A = cookieSecretFromHex('e5e973e5a6b2a43f48e7dc849e37bfcf');
const SECRET_A4_OLD = cookieSecretFromHex('dd3bdf9344b678b185a6f5cb60fca715');
const SECRET_A4_NEW = cookieSecretFromHex('445536bcd2513298075a5d379663c962');

interface Exchange {
  result: number;
  action: number;
  invalid: number;
  /** The response's COOKIE option data in hex ('' when none). */
  reply: string;
}

/**
 * Evaluate `cookieHex` (COOKIE option data; null: no option) from `client` at `now`.
 * The option sits inside a larger buffer, as it does in a packet.
 */
function exchange(
  cookies: ServerCookies,
  cookieHex: string | null,
  client: string,
  now: number,
  opts: { udp?: boolean; question?: boolean } = {},
): Exchange {
  const ip = parseIp(client)!;
  const data = cookieHex === null ? new Uint8Array(0) : Buffer.from(cookieHex, 'hex');
  const packet = new Uint8Array(30 + data.length + 7).fill(0x5a);
  packet.set(data, 30);
  const out = new Uint8Array(40).fill(0xcc);
  const v = new CookieVerdict();
  const addrBuf = new Uint8Array(3 + ip.bytes.length);
  addrBuf.set(ip.bytes, 3);
  cookies.evaluate(
    packet,
    cookieHex === null ? -1 : 30,
    data.length,
    ip.family,
    addrBuf,
    3,
    now,
    opts.udp ?? true,
    opts.question ?? true,
    out,
    4,
    v,
  );
  expect(out.subarray(0, 4)).toEqual(new Uint8Array(4).fill(0xcc));
  expect(out.subarray(4 + v.responseLength)).toEqual(new Uint8Array(36 - v.responseLength).fill(0xcc));
  return { result: v.result, action: v.action, invalid: v.invalid, reply: hex(out.subarray(4, 4 + v.responseLength)) };
}

const server = (p: Partial<CookiePolicy> = {}) => new ServerCookies({ secret: SECRET_A, ...p });

describe('RFC 9018 Appendix A', () => {
  it('A.1: a new client learns a server cookie', () => {
    expect(exchange(server(), '2464c4abcf10c957', '198.51.100.100', 1559731985)).toEqual({
      result: CookieResult.CLIENT_ONLY,
      action: CookieAction.PROCESS,
      invalid: CookieInvalid.NONE,
      reply: '2464c4abcf10c957010000005cf79f111f8130c3eee29480',
    });
  });

  it('A.2: 40 minutes later the same client gets a renewed cookie (older than half an hour)', () => {
    expect(
      exchange(server(), '2464c4abcf10c957010000005cf79f111f8130c3eee29480', '198.51.100.100', 1559734385),
    ).toEqual({
      result: CookieResult.VALID,
      action: CookieAction.PROCESS,
      invalid: CookieInvalid.NONE,
      reply: '2464c4abcf10c957010000005cf7a871d4a564a1442aca77',
    });
  });

  it('A.3: reserved bytes are hashed as received; the reply carries a fresh cookie with them zero', () => {
    const query = 'fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5';
    // The cookie is valid while young (issued 09:46:25) and is then echoed as it came.
    expect(exchange(server(), query, '203.0.113.203', 1559727985 + 60)).toMatchObject({
      result: CookieResult.VALID,
      reply: query,
    });
    // The appendix's reply comes 1 h 52 min after it was issued: past the hour of RFC 9018 4.3,
    // so it no longer validates; the reply is the same fresh cookie either way.
    expect(exchange(server(), query, '203.0.113.203', 1559734700)).toEqual({
      result: CookieResult.INVALID,
      action: CookieAction.PROCESS,
      invalid: CookieInvalid.EXPIRED,
      reply: 'fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e',
    });
  });

  it('A.4: an IPv6 client with a cookie made under the previous secret gets one under the new secret', () => {
    const query = '22681ab97d52c298010000005cf7c57926556bd0934c72f8';
    const client = '2001:db8:220:1:59de:d0f4:8769:82b8';
    const reply = '22681ab97d52c298010000005cf7c609a6bb79d16625507a';
    const rotated = new ServerCookies({ secret: SECRET_A4_NEW, previousSecret: SECRET_A4_OLD });
    expect(exchange(rotated, query, client, 1559741961)).toEqual({
      result: CookieResult.VALID,
      action: CookieAction.PROCESS,
      invalid: CookieInvalid.NONE,
      reply,
    });
    // Once the old secret is retired the same cookie is invalid, and the reply the same.
    const retired = new ServerCookies({ secret: SECRET_A4_NEW });
    expect(exchange(retired, query, client, 1559741961)).toEqual({
      result: CookieResult.INVALID,
      action: CookieAction.PROCESS,
      invalid: CookieInvalid.BAD_HASH,
      reply,
    });
    // The old server made that cookie.
    const out = new Uint8Array(16);
    new CookieSigner(SECRET_A4_OLD).make(
      Buffer.from('22681ab97d52c298', 'hex'),
      0,
      6,
      parseIp(client)!.bytes,
      0,
      1559741817,
      out,
      0,
    );
    expect(hex(out)).toBe(query.slice(16));
  });
});

describe('RFC 7873 5.2 decision table', () => {
  const now = 1_700_000_000;
  const client = '192.0.2.53';
  const freshCookie = exchange(server(), '0102030405060708', client, now - 100).reply;
  const forged = `${freshCookie.slice(0, 40)}${'00'.repeat(4)}`;
  const rows: [string, string | null, number][] = [
    ['no COOKIE option', null, CookieResult.NONE],
    ['a client cookie only', '0102030405060708', CookieResult.CLIENT_ONLY],
    ['an invalid server cookie', forged, CookieResult.INVALID],
    ['a valid server cookie', freshCookie, CookieResult.VALID],
  ];
  const { PROCESS, BADCOOKIE } = CookieAction;
  const expected: Record<number, [number, number, number]> = {
    // UDP, UDP + require, TCP + require
    [CookieResult.NONE]: [PROCESS, PROCESS, PROCESS],
    [CookieResult.CLIENT_ONLY]: [PROCESS, BADCOOKIE, PROCESS],
    [CookieResult.INVALID]: [PROCESS, BADCOOKIE, PROCESS],
    [CookieResult.VALID]: [PROCESS, PROCESS, PROCESS],
  };

  it.each(rows)('%s', (_, cookie, result) => {
    const got = [
      exchange(server(), cookie, client, now, { udp: true }),
      exchange(server({ require: true }), cookie, client, now, { udp: true }),
      exchange(server({ require: true }), cookie, client, now, { udp: false }),
    ];
    expect(got.map((g) => g.result)).toEqual([result, result, result]);
    expect(got.map((g) => g.action)).toEqual(expected[result]);
    for (const g of got) {
      if (result === CookieResult.NONE) expect(g.reply).toBe('');
      else {
        // Every response to a cookie-bearing query carries the client cookie and a server cookie that validates.
        expect(g.reply).toHaveLength(48);
        expect(g.reply.slice(0, 16)).toBe(cookie!.slice(0, 16));
        expect(exchange(server(), g.reply, client, now + 1).result).toBe(CookieResult.VALID);
      }
    }
  });

  it('only a valid server cookie proves the source (rate limiting exemption)', () => {
    const v = new CookieVerdict();
    const cookies = server();
    const verifiedFor = (cookieHex: string | null) => {
      const data = cookieHex === null ? new Uint8Array(0) : Buffer.from(cookieHex, 'hex');
      cookies.evaluate(
        data,
        cookieHex === null ? -1 : 0,
        data.length,
        4,
        parseIp(client)!.bytes,
        0,
        now,
        true,
        true,
        new Uint8Array(24),
        0,
        v,
      );
      return v.verified;
    };
    expect(rows.map(([, cookie]) => verifiedFor(cookie))).toEqual([false, false, false, true]);
  });

  it.each([0, 1, 7, 9, 12, 15, 41, 60])(
    'a COOKIE option of %i bytes is malformed: FORMERR, no cookie in the reply',
    (len) => {
      const data = '11'.repeat(len);
      expect(exchange(server(), data, client, now)).toEqual({
        result: CookieResult.MALFORMED,
        action: CookieAction.FORMERR,
        invalid: CookieInvalid.NONE,
        reply: '',
      });
    },
  );

  it.each([16, 23, 25, 40])(
    'a %i-byte option is well formed but not an RFC 9018 cookie of ours: invalid, answered with a fresh one',
    (len) => {
      const got = exchange(server(), '22'.repeat(len), client, now);
      expect(got).toMatchObject({
        result: CookieResult.INVALID,
        action: CookieAction.PROCESS,
        invalid: CookieInvalid.UNKNOWN_FORMAT,
      });
      expect(exchange(server(), got.reply, client, now).result).toBe(CookieResult.VALID);
    },
  );

  it('a version other than 1 is not ours', () => {
    const v2 = `${freshCookie.slice(0, 16)}02${freshCookie.slice(18)}`;
    expect(exchange(server(), v2, client, now).invalid).toBe(CookieInvalid.UNKNOWN_FORMAT);
  });

  it('a server cookie is bound to the client address (IPv4-mapped IPv6 is the IPv4 client)', () => {
    expect(exchange(server(), freshCookie, '192.0.2.54', now).invalid).toBe(CookieInvalid.BAD_HASH);
    expect(exchange(server(), freshCookie, '::ffff:192.0.2.53', now).result).toBe(CookieResult.VALID);
    expect(exchange(server({ secret: randomCookieSecret() }), freshCookie, client, now).invalid).toBe(
      CookieInvalid.BAD_HASH,
    );
  });
});

describe('timestamps (RFC 9018 4.3)', () => {
  const client = '198.51.100.7';
  const issuedAt = (ts: number) => exchange(server(), 'a1a2a3a4a5a6a7a8', client, ts).reply;
  const at = (ts: number, now: number) => exchange(server(), issuedAt(ts), client, now);
  const t = 1_700_000_000;

  it('accepts a cookie up to an hour old and up to five minutes ahead', () => {
    expect(at(t, t + 3600).result).toBe(CookieResult.VALID);
    expect(at(t, t + 3601)).toMatchObject({ result: CookieResult.INVALID, invalid: CookieInvalid.EXPIRED });
    expect(at(t, t - 300).result).toBe(CookieResult.VALID);
    expect(at(t, t - 301)).toMatchObject({ result: CookieResult.INVALID, invalid: CookieInvalid.FUTURE });
  });

  it('echoes a cookie up to half an hour old and renews it after', () => {
    const cookie = issuedAt(t);
    expect(exchange(server(), cookie, client, t + 1800).reply).toBe(cookie);
    const renewed = exchange(server(), cookie, client, t + 1801).reply;
    expect(renewed).not.toBe(cookie);
    expect(renewed.slice(24, 32)).toBe((t + 1801).toString(16));
    const s = server();
    exchange(s, cookie, client, t + 10);
    exchange(s, cookie, client, t + 2000);
    expect([s.stats[CookieStat.ECHOED], s.stats[CookieStat.REISSUED], s.stats[CookieResult.VALID]]).toEqual([1, 1, 2]);
  });

  it('uses serial number arithmetic across the 2^32 wrap (year 2106)', () => {
    expect(at(0xffffff00, 0x10).result).toBe(CookieResult.VALID);
    expect(at(0xfffff000, 0x1000)).toMatchObject({ invalid: CookieInvalid.EXPIRED });
  });
});

describe('cookie requests without a question (RFC 7873 5.4)', () => {
  const now = 1_700_000_000;
  const client = '192.0.2.1';
  const ask = (cookie: string, require = false) =>
    exchange(server({ require }), cookie, client, now, { question: false, udp: true });

  it('answers NOERROR with the cookie for a client cookie or a valid server cookie, BADCOOKIE for an invalid one', () => {
    const first = ask('0011223344556677');
    expect(first).toMatchObject({ result: CookieResult.CLIENT_ONLY, action: CookieAction.COOKIE_ONLY });
    expect(ask(first.reply)).toMatchObject({
      result: CookieResult.VALID,
      action: CookieAction.COOKIE_ONLY,
      reply: first.reply,
    });
    expect(ask(first.reply, true).action).toBe(CookieAction.COOKIE_ONLY);
    const bad = ask(`${first.reply.slice(0, 46)}00`);
    expect(bad).toMatchObject({ result: CookieResult.INVALID, action: CookieAction.BADCOOKIE });
    expect(bad.reply).toHaveLength(48);
  });

  it('counts what it saw and the BADCOOKIEs it sent', () => {
    const s = server({ require: true });
    exchange(s, null, client, now);
    exchange(s, '0011223344556677', client, now);
    exchange(s, '00', client, now);
    expect([
      s.stats[CookieResult.NONE],
      s.stats[CookieResult.CLIENT_ONLY],
      s.stats[CookieResult.MALFORMED],
      s.stats[CookieStat.BADCOOKIE_SENT],
    ]).toEqual([1, 1, 1, 1]);
  });
});

describe('an anycast fleet', () => {
  const client = '198.51.100.44';
  const t = 1_700_000_000;
  const secretOld = cookieSecretFromHex('00112233445566778899aabbccddeeff');
  const secretNew = cookieSecretFromHex('ffeeddccbbaa99887766554433221100');

  it('validates the cookies every other instance sharing the secret made', () => {
    const a = new ServerCookies({ secret: secretOld });
    const b = new ServerCookies({ secret: secretOld });
    const fromA = exchange(a, '0102030405060708', client, t).reply;
    expect(exchange(b, fromA, client, t + 5)).toMatchObject({ result: CookieResult.VALID, reply: fromA });
  });

  it('rotates without a rejected cookie: accept the next secret everywhere, then switch, then retire the old one', () => {
    // Step 1, every instance: the old secret makes cookies, the new one is accepted.
    const step1 = new ServerCookies({ secret: secretOld, previousSecret: secretNew });
    // Step 2, instance by instance: the new secret makes cookies, the old one is accepted.
    const step2 = new ServerCookies({ secret: secretNew, previousSecret: secretOld });
    const byStep1 = exchange(step1, '0102030405060708', client, t).reply;
    const byStep2 = exchange(step2, '0102030405060708', client, t).reply;
    expect(exchange(step2, byStep1, client, t + 1).result).toBe(CookieResult.VALID);
    expect(exchange(step1, byStep2, client, t + 1).result).toBe(CookieResult.VALID);
    // A cookie validated under the secret that does not make cookies here is replaced by one that does.
    expect(exchange(step1, byStep2, client, t + 1).reply).toBe(
      exchange(step1, '0102030405060708', client, t + 1).reply,
    );
    // Step 3, an hour later: the old secret goes; cookies it made have expired anyway.
    const step3 = new ServerCookies({ secret: secretNew });
    expect(exchange(step3, byStep2, client, t + 3600).result).toBe(CookieResult.VALID);
    expect(exchange(step3, byStep1, client, t + 3601).result).toBe(CookieResult.INVALID);
  });
});

describe('secrets', () => {
  it('reads 32 hex digits and says what is wrong otherwise, without echoing the value', () => {
    expect(hex(cookieSecretFromHex(' E5E973E5A6B2A43F48E7DC849E37BFCF\n'))).toBe('e5e973e5a6b2a43f48e7dc849e37bfcf');
    expect(() => cookieSecretFromHex('e5e973')).toThrow('a cookie secret is 32 hex digits (16 bytes), not 6');
    expect(() => cookieSecretFromHex('zz'.repeat(16))).toThrow(/^a cookie secret is hexadecimal/);
    expect(randomCookieSecret()).toHaveLength(16);
    expect(hex(randomCookieSecret())).not.toBe(hex(randomCookieSecret()));
  });
});
