/**
 * Addresses and prefixes: strict config parsing (parseIp / parsePrefix),
 * RFC 5952 text output (formatIp / formatPrefix), and the allocation-free
 * socket address parser used per query (parseSocketAddress).
 */
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, formatPrefix, maskInPlace, parseIp, parsePrefix, parseSocketAddress } from '../../../src/net/ip.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('parseIp', () => {
  it.each([
    ['192.0.2.1', 4, 'c0000201'],
    ['0.0.0.0', 4, '00000000'],
    ['255.255.255.255', 4, 'ffffffff'],
    ['::', 6, '00000000000000000000000000000000'],
    ['::1', 6, '00000000000000000000000000000001'],
    ['2001:db8::1', 6, '20010db8000000000000000000000001'],
    ['2001:DB8:0:0:1:0:0:1', 6, '20010db8000000000001000000000001'],
    ['fe80::1%eth0', 6, 'fe800000000000000000000000000001'],
    ['1::', 6, '00010000000000000000000000000000'],
    ['::ffff:192.0.2.1', 6, '00000000000000000000ffffc0000201'],
    ['::192.0.2.1', 6, '000000000000000000000000c0000201'],
    ['64:ff9b::198.51.100.7', 6, '0064ff9b0000000000000000c6336407'],
    ['1:2:3:4:5:6:7:8', 6, '00010002000300040005000600070008'],
  ])('%s', (text, family, bytes) => {
    const ip = parseIp(text);
    expect(ip?.family).toBe(family);
    expect(hex(ip!.bytes)).toBe(bytes);
  });

  it.each([
    [''],
    ['1.2.3'],
    ['1.2.3.256'],
    ['1.2.3.4.5'],
    ['::g'],
    ['1:2:3:4:5:6:7:8:9'],
    ['1::2::3'],
    ['localhost'],
    [' 1.2.3.4'],
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });
});

describe('parsePrefix', () => {
  it.each([
    ['192.0.2.0/24', 4, 'c0000200', 24],
    ['0.0.0.0/0', 4, '00000000', 0],
    ['10.0.0.0/8', 4, '0a000000', 8],
    ['192.0.2.1/32', 4, 'c0000201', 32],
    ['192.0.2.1', 4, 'c0000201', 32],
    ['128.0.0.0/1', 4, '80000000', 1],
    ['2001:db8::/32', 6, '20010db8000000000000000000000000', 32],
    ['::/0', 6, '00000000000000000000000000000000', 0],
    ['2001:db8::1', 6, '20010db8000000000000000000000001', 128],
    ['2001:db8:8000::/33', 6, '20010db8800000000000000000000000', 33],
    ['::ffff:6.0.0.0/120', 6, '00000000000000000000ffff06000000', 120],
  ])('%s', (text, family, bytes, length) => {
    const p = parsePrefix(text);
    expect(p.family).toBe(family);
    expect(hex(p.bytes)).toBe(bytes);
    expect(p.length).toBe(length);
  });

  it.each([
    // host bits set past the prefix
    ['192.0.2.1/24', /host bits set past \/24/],
    ['11.0.0.0/7', /host bits/],
    ['128.0.0.0/0', /host bits/],
    ['192.0.2.129/25', /host bits/],
    ['2001:db8::1/64', /host bits/],
    ['2001:db9::/31', /host bits/],
    ['::ffff:6.0.0.1/120', /host bits/],
    // bad lengths
    ['192.0.2.0/33', /prefix length must be 0-32/],
    ['2001:db8::/129', /prefix length must be 0-128/],
    ['192.0.2.0/', /prefix length/],
    ['192.0.2.0/-1', /prefix length/],
    ['192.0.2.0/2a', /prefix length/],
    ['192.0.2.0/1000', /prefix length/],
    ['192.0.2.0/ 24', /prefix length/],
    ['192.0.2.0/24/8', /prefix length/],
    // not an address
    ['192.0.2/24', /not an IPv4 or IPv6 prefix/],
    ['example.net/24', /not an IPv4 or IPv6 prefix/],
    ['/24', /not an IPv4 or IPv6 prefix/],
    ['', /not an IPv4 or IPv6 prefix/],
  ])('rejects %j', (text, message) => {
    expect(() => parsePrefix(text)).toThrow(message);
  });

  it('round-trips through formatPrefix for every length', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128), (isV6, raw, n) => {
        const bytes = isV6 ? Uint8Array.from(raw) : Uint8Array.from(raw.subarray(0, 4));
        const length = n % (bytes.length * 8 + 1);
        maskInPlace(bytes, length);
        const text = formatPrefix({ family: isV6 ? 6 : 4, bytes, length });
        const back = parsePrefix(text);
        expect(back.family).toBe(isV6 ? 6 : 4);
        expect(back.length).toBe(length);
        expect(hex(back.bytes)).toBe(hex(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('maskInPlace', () => {
  it.each([
    ['ffffffff', 0, '00000000', true],
    ['ffffffff', 9, 'ff800000', true],
    ['ff800000', 9, 'ff800000', false],
    ['c0000201', 32, 'c0000201', false],
    ['c0000201', 31, 'c0000200', true],
  ])('%s /%d -> %s (changed %s)', (input, length, output, changed) => {
    const b = Uint8Array.from(Buffer.from(input, 'hex'));
    expect(maskInPlace(b, length)).toBe(changed);
    expect(hex(b)).toBe(output);
  });
});

describe('formatIp (RFC 5952)', () => {
  const v6 = (text: string) => parseIp(text)!.bytes;
  it.each([
    // 4.1 leading zeros suppressed; 4.3 lower case
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:00ab:0cde::', '2001:db8:ab:cde::'],
    // 4.2.1 the longest run of zero groups is compressed
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
    // 4.2.2 a single zero group is not compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // 4.2.3 equal runs: the first is compressed
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    // edges
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:1:', null],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['0:1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ])('%s -> %s', (input, out) => {
    if (out === null) {
      expect(parseIp(input)).toBeNull();
      return;
    }
    expect(formatIp(6, v6(input))).toBe(out);
  });

  it('IPv4 is dotted quad', () => {
    expect(formatIp(4, Uint8Array.from([192, 0, 2, 1]))).toBe('192.0.2.1');
    expect(formatIp(4, Uint8Array.from([0, 0, 0, 0]))).toBe('0.0.0.0');
  });

  it('every IPv6 address formats to a valid, canonical text that parses back to the same bytes', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const bytes = new Uint8Array(16);
        groups.forEach((g, i) => {
          bytes[i * 2] = g >> 8;
          bytes[i * 2 + 1] = g & 0xff;
        });
        const text = formatIp(6, bytes);
        expect(isIPv6(text)).toBe(true);
        expect(hex(parseIp(text)!.bytes)).toBe(hex(bytes));
        expect(text).toBe(text.toLowerCase());
        expect(text).not.toMatch(/(^|:)0[0-9a-f]/); // no leading zeros
        expect(text.split('::').length).toBeLessThanOrEqual(2);
        // The compressed run is the longest (first of equals) and at least two groups.
        const runs: Array<[number, number]> = [];
        for (let i = 0; i < 8; ) {
          if (groups[i] !== 0) {
            i++;
            continue;
          }
          let j = i;
          while (j < 8 && groups[j] === 0) j++;
          runs.push([i, j - i]);
          i = j;
        }
        const best = runs.reduce<[number, number] | null>((b, r) => (r[1] >= 2 && (!b || r[1] > b[1]) ? r : b), null);
        const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
        // RFC 5952 5: IPv4-mapped addresses keep the dotted IPv4 tail.
        if (mapped) expect(text).toBe(`::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`);
        else if (!best) expect(text).not.toContain('::');
        else {
          const [head, tail] = text.split('::');
          expect(head === '' ? 0 : head.split(':').length).toBe(best[0]);
          expect(tail === '' ? 0 : tail.split(':').length).toBe(8 - best[0] - best[1]);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseSocketAddress', () => {
  it.each<[string, 0 | 4 | 6, string]>([
    ['127.0.0.1', 4, '7f000001'],
    ['192.0.2.255', 4, 'c00002ff'],
    ['0.0.0.0', 4, '00000000'],
    // IPv4-mapped IPv6 from a dual-stack socket is an IPv4 client
    ['::ffff:127.0.0.1', 4, '7f000001'],
    ['::ffff:6.0.0.9', 4, '06000009'],
    // IPv6
    ['::1', 6, '00000000000000000000000000000001'],
    ['2001:db8::53', 6, '20010db8000000000000000000000053'],
    ['2a01:4f8:1:2:3:4:5:6', 6, '2a0104f8000100020003000400050006'],
    ['fe80::1%lo', 6, 'fe800000000000000000000000000001'],
  ])('%s -> IPv%d %s', (text, family, bytes) => {
    const out = new Uint8Array(16).fill(0xee);
    expect(parseSocketAddress(text, out)).toBe(family);
    expect(hex(out.subarray(0, family === 4 ? 4 : 16))).toBe(bytes);
  });

  it.each([
    [''],
    ['1.2.3'],
    ['1.2.3.4.5'],
    ['256.0.0.1'],
    ['1..2.3'],
    ['1.2.3.'],
    ['.1.2.3'],
    ['1.2.3.4x'],
    ['1234.1.1.1'],
    ['::ffff:1.2.3.256'],
    ['::ffff:1.2.3'],
    ['not-an-ip'],
    ['1:2:3'],
  ])('rejects %j with 0', (text) => {
    expect(parseSocketAddress(text, new Uint8Array(16))).toBe(0);
  });

  it('agrees with parseIp on random IPv4 and IPv4-mapped addresses', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.boolean(), (ip, mapped) => {
        const out = new Uint8Array(16);
        expect(parseSocketAddress(mapped ? `::ffff:${ip}` : ip, out)).toBe(4);
        expect(hex(out.subarray(0, 4))).toBe(hex(parseIp(ip)!.bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with parseIp on random IPv6 addresses (as Node formats them)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (raw) => {
        // Skip the IPv4-mapped range, which is answered as IPv4 above.
        if (raw.subarray(0, 10).every((b) => b === 0) && raw[10] === 0xff && raw[11] === 0xff) return;
        const text = formatIp(6, raw);
        const out = new Uint8Array(16);
        expect(parseSocketAddress(text, out)).toBe(6);
        expect(hex(out)).toBe(hex(raw));
      }),
      { numRuns: 2000 },
    );
  });
});
