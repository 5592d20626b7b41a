/**
 * Response rate limiting accounting over simulated time (no clocks, no
 * sockets): BIND's balance semantics (rate, burst, window of debt), slip
 * cadence, exemptions, log-only, the bucket key (client network cut to the
 * prefix, kind, name, qtype) and the fixed-size table under millions of sources.
 */
import { describe, expect, it } from 'vitest';
import { parseIp, parsePrefix } from '../../../src/net/ip.js';
import { busiestBuckets, wireNameText } from '../../../src/rrl/busiest.js';
import { RrlAction, ResponseKind, type ResponseKindCode, type RrlActionCode } from '../../../src/rrl/kinds.js';
import { ResponseRateLimiter, RrlStat } from '../../../src/rrl/limiter.js';
import type { RrlSettings } from '../../../src/rrl/settings.js';
import { hashWireName } from '../../../src/zone/name-table.js';
import { nameToWire } from '../../../src/zone/names.js';

const { PASS, DROP, SLIP } = RrlAction;
const A = 1;
const AAAA = 28;

function addr(text: string): { family: 4 | 6; bytes: Uint8Array } {
  const ip = parseIp(text);
  if (!ip) throw new Error(text);
  return ip;
}

const limiter = (s: Partial<RrlSettings> = {}) => new ResponseRateLimiter({ slip: 0, ...s }, [0x1234567, 0x7654321]);

/** One response for `name` to `source` at `t` ms. */
function send(
  l: ResponseRateLimiter,
  t: number,
  source: string,
  name = 'www.example.com',
  kind: ResponseKindCode = ResponseKind.ANSWER,
  qtype = A,
): RrlActionCode {
  const a = addr(source);
  return l.check(t, a.family, a.bytes, 0, kind, qtype, nameToWire(name), 0);
}

/** `count` responses evenly spread from `start` at `perSecond`; returns the actions. */
function stream(
  l: ResponseRateLimiter,
  start: number,
  perSecond: number,
  count: number,
  source: string,
  name?: string,
  kind?: ResponseKindCode,
): RrlActionCode[] {
  const out: RrlActionCode[] = [];
  for (let i = 0; i < count; i++) out.push(send(l, start + (i * 1000) / perSecond, source, name, kind));
  return out;
}

const tally = (actions: RrlActionCode[]) => ({
  pass: actions.filter((x) => x === PASS).length,
  drop: actions.filter((x) => x === DROP).length,
  slip: actions.filter((x) => x === SLIP).length,
});

describe('rates', () => {
  it('answers a client at or under the limit in full, for a minute', () => {
    const l = limiter({ responsesPerSecond: 10 });
    expect(tally(stream(l, 0, 10, 600, '192.0.2.1')).pass).toBe(600);
    expect(tally(stream(l, 100_000, 5, 300, '192.0.2.1')).pass).toBe(300);
  });

  it('allows one second of burst, then limits', () => {
    const l = limiter({ responsesPerSecond: 10 });
    const burst = Array.from({ length: 15 }, () => send(l, 1000, '192.0.2.1'));
    expect(burst.slice(0, 10)).toEqual(new Array(10).fill(PASS));
    expect(burst.slice(10)).toEqual(new Array(5).fill(DROP));
  });

  it('gives a flood at ten times the limit its burst and nothing more (the balance sinks, as in BIND)', () => {
    const l = limiter({ responsesPerSecond: 10 });
    const t = tally(stream(l, 0, 100, 1000, '192.0.2.1'));
    // 10 of burst plus what is earned while the burst lasts (every 10 ms earns 0.1 response).
    expect(t.pass).toBe(11);
    expect(t.drop).toBe(989);
  });

  it('limits each class of response by its own rate', () => {
    const l = limiter({
      responsesPerSecond: 100,
      nxdomainsPerSecond: 5,
      errorsPerSecond: 3,
      referralsPerSecond: 4,
      nodataPerSecond: 6,
    });
    const burst = (kind: ResponseKindCode) =>
      tally(Array.from({ length: 50 }, () => send(l, 0, '192.0.2.1', 'example.com', kind))).pass;
    expect(burst(ResponseKind.ANSWER)).toBe(50);
    expect(burst(ResponseKind.NXDOMAIN)).toBe(5);
    expect(burst(ResponseKind.ERROR)).toBe(3);
    expect(burst(ResponseKind.REFERRAL)).toBe(4);
    expect(burst(ResponseKind.NODATA)).toBe(6);
  });

  it('a limit of 0 means that class is not limited', () => {
    const l = limiter({ responsesPerSecond: 1, errorsPerSecond: 0 });
    expect(tally(Array.from({ length: 100 }, () => send(l, 0, '192.0.2.1', 'x', ResponseKind.ERROR))).pass).toBe(100);
    expect(l.occupancy()).toBe(0);
  });
});

describe('window', () => {
  /** A 10 s flood at 100/s from one source, over at t = 10 s. */
  const flooded = (windowSeconds: number) => {
    const l = limiter({ responsesPerSecond: 10, windowSeconds });
    stream(l, 0, 100, 1000, '192.0.2.1');
    return l;
  };
  const end = 9990;

  it('keeps a source that stopped flooding limited for up to the window (15 s by default)', () => {
    expect(send(flooded(15), end + 14_900, '192.0.2.1')).toBe(DROP);
    expect(send(flooded(15), end + 15_100, '192.0.2.1')).toBe(PASS);
  });

  it('a shorter window forgives sooner', () => {
    expect(send(flooded(5), end + 4_900, '192.0.2.1')).toBe(DROP);
    expect(send(flooded(5), end + 5_100, '192.0.2.1')).toBe(PASS);
    expect(send(flooded(15), end + 5_100, '192.0.2.1')).toBe(DROP);
  });

  it('earns the debt back at the rate while the source stays under it', () => {
    const l = flooded(15);
    // At 5/s the bucket earns 10/s and pays 5/s: the -150 debt is paid off after 30 s.
    const after = stream(l, end + 1000, 5, 200, '192.0.2.1');
    const firstPass = after.indexOf(PASS);
    expect(firstPass).toBeGreaterThan(140);
    expect(firstPass).toBeLessThan(160);
    expect(after.slice(firstPass).every((x) => x === PASS)).toBe(true);
  });

  it('ignores a clock that goes backwards (no credit, no crash)', () => {
    const l = limiter({ responsesPerSecond: 2 });
    expect([send(l, 5000, '192.0.2.1'), send(l, 5000, '192.0.2.1'), send(l, 1000, '192.0.2.1')]).toEqual([
      PASS,
      PASS,
      DROP,
    ]);
  });
});

describe('slip', () => {
  const limitedRun = (slip: number) => {
    const l = new ResponseRateLimiter({ responsesPerSecond: 5, slip }, [1, 2]);
    return Array.from({ length: 17 }, () => send(l, 0, '192.0.2.1')).slice(5);
  };
  const S = SLIP;
  const D = DROP;

  it('slip 2 (the default) sends every second limited response truncated, starting with the first', () => {
    expect(limitedRun(2)).toEqual([S, D, S, D, S, D, S, D, S, D, S, D]);
  });
  it('slip 3 sends every third', () => {
    expect(limitedRun(3)).toEqual([S, D, D, S, D, D, S, D, D, S, D, D]);
  });
  it('slip 1 sends every limited response truncated; slip 0 never', () => {
    expect(limitedRun(1)).toEqual(new Array(12).fill(S));
    expect(limitedRun(0)).toEqual(new Array(12).fill(D));
  });
  it('the cadence restarts when the bucket has recovered', () => {
    const l = new ResponseRateLimiter({ responsesPerSecond: 2, slip: 3 }, [1, 2]);
    const run = () => Array.from({ length: 4 }, () => send(l, t, '192.0.2.1'));
    let t = 0;
    expect(run()).toEqual([PASS, PASS, S, D]);
    t = 30_000;
    expect(run()).toEqual([PASS, PASS, S, D]);
  });
  it('counts slips and drops', () => {
    const l = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 2 }, [1, 2]);
    Array.from({ length: 17 }, () => send(l, 0, '192.0.2.1'));
    expect([l.stats[RrlStat.PASS], l.stats[RrlStat.SLIP], l.stats[RrlStat.DROP]]).toEqual([5, 6, 6]);
  });
});

describe('exemptions and log-only', () => {
  const exempt = ['192.0.2.0/24', '2001:db8::/32', '::ffff:198.51.100.0/120'].map(parsePrefix);

  it('never limits an exempt source, and counts it', () => {
    const l = limiter({ responsesPerSecond: 1, exempt });
    expect(tally(stream(l, 0, 1000, 500, '192.0.2.77')).pass).toBe(500);
    expect(tally(stream(l, 0, 1000, 500, '2001:db8:ffff::1')).pass).toBe(500);
    expect(tally(stream(l, 0, 1000, 500, '::ffff:192.0.2.9')).pass).toBe(500);
    expect(tally(stream(l, 0, 1000, 500, '198.51.100.200')).pass).toBe(500);
    expect(l.stats[RrlStat.EXEMPT_PREFIX]).toBe(2000);
    expect(tally(stream(l, 0, 1000, 500, '192.0.3.77')).pass).toBe(1);
    expect(tally(stream(l, 0, 1000, 500, '2001:db9::1')).pass).toBe(1);
  });

  it('log-only decides and counts exactly as enforcing would, but always says PASS', () => {
    const enforcing = new ResponseRateLimiter({ responsesPerSecond: 10 }, [5, 6]);
    const logOnly = new ResponseRateLimiter({ responsesPerSecond: 10, logOnly: true }, [5, 6]);
    const verdicts: RrlActionCode[] = [];
    for (let i = 0; i < 300; i++) {
      const e = send(enforcing, i * 5, '192.0.2.1');
      expect(send(logOnly, i * 5, '192.0.2.1')).toBe(PASS);
      expect(logOnly.lastVerdict).toBe(e);
      verdicts.push(e);
    }
    expect(tally(verdicts).drop).toBeGreaterThan(100);
    expect(Array.from(logOnly.stats)).toEqual(Array.from(enforcing.stats));
  });

  it('counts responses let through for a valid server cookie', () => {
    const l = limiter();
    l.countCookieExempt();
    l.countCookieExempt();
    expect(l.stats[RrlStat.EXEMPT_COOKIE]).toBe(2);
  });
});

describe('the bucket key', () => {
  const burstPasses = (
    l: ResponseRateLimiter,
    source: string,
    name = 'www.example.com',
    kind: ResponseKindCode = ResponseKind.ANSWER,
    qtype = A,
  ) => {
    const a = addr(source);
    let n = 0;
    for (let i = 0; i < 20; i++) if (l.check(0, a.family, a.bytes, 0, kind, qtype, nameToWire(name), 0) === PASS) n++;
    return n;
  };

  it('cuts IPv4 sources to /24 by default, to the configured prefix otherwise', () => {
    const l = limiter({ responsesPerSecond: 10 });
    expect(burstPasses(l, '192.0.2.1')).toBe(10);
    expect(burstPasses(l, '192.0.2.254')).toBe(0);
    expect(burstPasses(l, '192.0.3.1')).toBe(10);
    const host = limiter({ responsesPerSecond: 10, ipv4PrefixLength: 32 });
    expect(burstPasses(host, '192.0.2.1')).toBe(10);
    expect(burstPasses(host, '192.0.2.2')).toBe(10);
  });

  it('cuts IPv6 sources to /56 by default, to the configured prefix otherwise', () => {
    const l = limiter({ responsesPerSecond: 10 });
    expect(burstPasses(l, '2001:db8:0:100::1')).toBe(10);
    expect(burstPasses(l, '2001:db8:0:1ff:ffff::2')).toBe(0); // same /56: 2001:db8:0:100::/56
    expect(burstPasses(l, '2001:db8:0:200::1')).toBe(10);
    const wide = limiter({ responsesPerSecond: 10, ipv6PrefixLength: 48 });
    expect(burstPasses(wide, '2001:db8:0:100::1')).toBe(10);
    expect(burstPasses(wide, '2001:db8:0:200::1')).toBe(0);
    const odd = limiter({ responsesPerSecond: 10, ipv6PrefixLength: 60 });
    expect(burstPasses(odd, '2001:db8:0:10::1')).toBe(10);
    expect(burstPasses(odd, '2001:db8:0:1f::1')).toBe(0);
    expect(burstPasses(odd, '2001:db8:0:20::1')).toBe(10);
  });

  it('takes an IPv4-mapped IPv6 source (dual-stack socket) as the IPv4 client', () => {
    const l = limiter({ responsesPerSecond: 10 });
    expect(burstPasses(l, '::ffff:192.0.2.1')).toBe(10);
    expect(burstPasses(l, '192.0.2.9')).toBe(0);
  });

  it('keys answers on qname and qtype, case-insensitively', () => {
    const l = limiter({ responsesPerSecond: 10 });
    expect(burstPasses(l, '192.0.2.1', 'www.example.com')).toBe(10);
    expect(burstPasses(l, '192.0.2.1', 'WWW.Example.COM')).toBe(0);
    expect(burstPasses(l, '192.0.2.1', 'www.example.com', ResponseKind.ANSWER, AAAA)).toBe(10);
    expect(burstPasses(l, '192.0.2.1', 'cdn.example.com')).toBe(10);
  });

  it('keys NODATA on the name whatever the qtype', () => {
    const l = limiter({ responsesPerSecond: 10 });
    expect(burstPasses(l, '192.0.2.1', 'www.example.com', ResponseKind.NODATA, 16)).toBe(10);
    expect(burstPasses(l, '192.0.2.1', 'www.example.com', ResponseKind.NODATA, 99)).toBe(0);
    expect(burstPasses(l, '192.0.2.1', 'www.example.com', ResponseKind.ANSWER, 16)).toBe(10);
  });

  it('puts random-name NXDOMAIN floods into one bucket per zone (the name is the zone apex, a suffix of the qname)', () => {
    const l = limiter({ responsesPerSecond: 1000, nxdomainsPerSecond: 10 });
    const answers: RrlActionCode[] = [];
    for (let i = 0; i < 1000; i++) {
      const qname = nameToWire(`r${i.toString(36)}x${(i * 7919) % 1000}.Example.com`);
      const apexOffset = 1 + qname[0]; // the zone starts after the random first label
      const a = addr('192.0.2.1');
      answers.push(l.check(i, 4, a.bytes, 0, ResponseKind.NXDOMAIN, A, qname, apexOffset));
    }
    expect(tally(answers).pass).toBe(10);
    // Another zone, and the same names as answers, are other buckets.
    expect(burstPasses(l, '192.0.2.1', 'example.org', ResponseKind.NXDOMAIN)).toBe(10);
    expect(burstPasses(l, '192.0.2.1', 'x1.example.com', ResponseKind.ANSWER)).toBe(20);
  });

  it('puts every error to one network into one bucket, whatever the name and qtype', () => {
    const l = limiter({ responsesPerSecond: 1000, errorsPerSecond: 10 });
    let passes = 0;
    for (let i = 0; i < 200; i++) {
      const a = addr(`192.0.2.${i % 250}`);
      if (l.check(0, 4, a.bytes, 0, ResponseKind.ERROR, i, nameToWire(`refused${i}.example`), 0) === PASS) passes++;
    }
    expect(passes).toBe(10);
    expect(burstPasses(l, '192.0.2.1', 'a', ResponseKind.ERROR)).toBe(0);
    expect(burstPasses(l, '198.51.100.1', 'a', ResponseKind.ERROR)).toBe(10);
  });

  it('keeps the kinds apart: a wildcard bucket is not the answer bucket of the encloser', () => {
    const l = limiter({ responsesPerSecond: 10 });
    expect(burstPasses(l, '192.0.2.1', 'example.com', ResponseKind.WILDCARD)).toBe(10);
    expect(burstPasses(l, '192.0.2.1', 'example.com', ResponseKind.ANSWER)).toBe(10);
    expect(burstPasses(l, '192.0.2.1', 'example.com', ResponseKind.REFERRAL)).toBe(10);
  });

  it('gives the same bucket for a name hashed here and the zone lookup hash of it', () => {
    const l = limiter({ responsesPerSecond: 10 });
    const wire = nameToWire('cdn.example.net');
    expect(l.nameHash(wire, 0)).toBe(hashWireName(wire));
    const a = addr('192.0.2.1');
    for (let i = 0; i < 10; i++)
      expect(l.checkHashed(0, 4, a.bytes, 0, ResponseKind.ANSWER, A, hashWireName(wire), null, 0)).toBe(PASS);
    expect(l.check(0, 4, a.bytes, 0, ResponseKind.ANSWER, A, nameToWire('CDN.example.NET'), 0)).toBe(DROP);
  });

  it('reads the source address at an offset (batched receive buffers)', () => {
    const l = limiter({ responsesPerSecond: 3 });
    const buf = new Uint8Array(40);
    buf.set([192, 0, 2, 5], 20);
    const wire = nameToWire('example.com');
    const r = Array.from({ length: 5 }, () => l.check(0, 4, buf, 20, ResponseKind.ANSWER, A, wire, 0));
    expect(r).toEqual([PASS, PASS, PASS, DROP, DROP]);
    expect(send(l, 0, '192.0.2.200', 'example.com')).toBe(DROP);
  });
});

describe('the table', () => {
  it('stays at its fixed size under two million spoofed sources while the attack bucket stays limited and a real client is served', () => {
    const l = new ResponseRateLimiter({ responsesPerSecond: 200, tableSize: 4096 }, [11, 12]);
    const bytesBefore = l.tableBytes;
    const wire = nameToWire('cdn.example.net');
    const src = new Uint8Array(4);
    const victim = addr('203.0.113.9').bytes;
    const client = addr('198.51.100.20').bytes;
    let x = 0x9e3779b9;
    const attack = { pass: 0, limited: 0 };
    let clientPasses = 0;
    const total = 2_000_000;
    // 100 spoofed queries per simulated millisecond (20 s), each from a random address.
    for (let i = 0; i < total; i++) {
      const t = Math.floor(i / 100);
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      src[0] = 1 + ((x >>> 24) % 100); // 1-100.x.x.x: never the victim's or the client's network
      src[1] = x >>> 16;
      src[2] = x >>> 8;
      src[3] = x;
      l.check(t, 4, src, 0, ResponseKind.ANSWER, A, wire, 0);
      // A flood spoofing one victim: one query per simulated millisecond (1000/s for a 200/s limit).
      if (i % 100 === 0) {
        if (l.check(t, 4, victim, 0, ResponseKind.ANSWER, A, wire, 0) === PASS) attack.pass++;
        else attack.limited++;
      }
      // A real resolver elsewhere at 20 queries per second.
      if (i % 5000 === 0 && l.check(t, 4, client, 0, ResponseKind.ANSWER, A, wire, 0) === PASS) clientPasses++;
    }
    expect(l.capacity).toBe(4096);
    expect(l.tableBytes).toBe(bytesBefore);
    expect(l.occupancy()).toBeLessThanOrEqual(4096);
    const s = l.stats;
    expect(s[RrlStat.PASS] + s[RrlStat.DROP] + s[RrlStat.SLIP]).toBe(total + 20_000 + 400);
    expect(s[RrlStat.INSERTED] + s[RrlStat.REUSED] + s[RrlStat.EVICTED]).toBeGreaterThan(1_900_000);
    // Spoofed one-off buckets recover within 5 ms, so slots are reused, not evicted.
    expect(s[RrlStat.EVICTED]).toBe(0);
    // The burst (200) and what it earns while it lasts (0.2 per millisecond): 249 responses, then none.
    expect(attack.pass).toBe(249);
    expect(attack.limited).toBe(20_000 - 249);
    expect(clientPasses).toBe(400);
  });

  it('evicts the least recently used bucket when every slot of a window is live, and stays bounded', () => {
    const l = new ResponseRateLimiter({ responsesPerSecond: 1, tableSize: 1024 }, [3, 4]);
    const wire = nameToWire('example.com');
    const src = new Uint8Array(4);
    // 5000 sources each sending 3 responses at once: each bucket is in debt and cannot be reused.
    for (let i = 0; i < 5000; i++) {
      src[0] = 10;
      src[1] = i >> 8;
      src[2] = i & 0xff;
      for (let k = 0; k < 3; k++) l.check(i, 4, src, 0, ResponseKind.ANSWER, A, wire, 0);
    }
    expect(l.occupancy()).toBe(1024);
    expect(l.stats[RrlStat.EVICTED]).toBeGreaterThan(3000);
  });

  it('rounds the size up to a power of two and rejects settings out of range', () => {
    expect(new ResponseRateLimiter({ tableSize: 5000 }).capacity).toBe(8192);
    expect(() => new ResponseRateLimiter({ slip: 11 })).toThrow(/slip must be an integer 0-10/);
    expect(() => new ResponseRateLimiter({ windowSeconds: 0 })).toThrow(/window/);
    expect(() => new ResponseRateLimiter({ ipv6PrefixLength: 129 })).toThrow(/ipv6_prefix_length/);
    expect(() => new ResponseRateLimiter({ responsesPerSecond: 1.5 })).toThrow(/responses_per_second/);
    expect(() => new ResponseRateLimiter({ tableSize: 10 })).toThrow(/table_size/);
  });
});

describe('the admin view', () => {
  it('lists the limited buckets first, with their network, kind, name and balance', () => {
    const l = limiter({ responsesPerSecond: 10, nxdomainsPerSecond: 5 });
    stream(l, 0, 10, 20, '198.51.100.7', 'www.example.com');
    for (let i = 0; i < 100; i++) {
      const q = nameToWire(`rnd${i}.example.com`);
      const a = addr('2001:db8:aa:bb::1');
      l.check(1000 + i, 6, a.bytes, 0, ResponseKind.NXDOMAIN, A, q, 1 + q[0]);
    }
    const top = busiestBuckets(l, 1100, 5);
    expect(top).toHaveLength(2);
    expect(top[0]).toMatchObject({
      network: '2001:db8:aa::/56',
      kind: 'nxdomain',
      name: 'example.com.',
      qtype: null,
      responses: 100,
      limited: 95,
      limitedNow: true,
    });
    expect(top[0].balance).toBeLessThan(0);
    expect(top[1]).toMatchObject({
      network: '198.51.100.0/24',
      kind: 'answer',
      name: null,
      qtype: A,
      limited: 0,
      limitedNow: false,
    });
    expect(busiestBuckets(l, 1100 + 16_000)).toEqual([]);
  });

  it('writes names in presentation form', () => {
    expect(wireNameText(Uint8Array.from([3, 0x61, 0x2e, 0x07, 1, 0x62, 0]))).toBe('a\\.\\007.b.');
    expect(wireNameText(Uint8Array.from([0]))).toBe('.');
  });
});
