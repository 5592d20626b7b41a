/**
 * RDATA of the record types served as bytes, against wire-format vectors from
 * their RFCs: SVCB/HTTPS (RFC 9460 Appendix D, presentation and failure
 * cases), TLSA (RFC 6698 2.3), SSHFP (RFC 4255 3.3), DS (RFC 4034 5.4),
 * NAPTR (RFC 3403), LOC (RFC 1876, bytes worked out from section 2), and
 * RFC 3597 generic RDATA for unknown and known types. The same parser reads
 * master files and YAML values, so the master-file tests below only check
 * positions and the type field.
 */
import { describe, expect, it } from 'vitest';
import { parseMasterFile } from '../../../src/zone/master-file.js';
import { parseRecordText } from '../../../src/zone/record-data.js';
import { recordTypeOf, type RecordType } from '../../../src/zone/types.js';
import { ZoneFileError } from '../../../src/errors.js';

const ORIGIN = 'example.com';
/** Hex with spaces and comments stripped, as the RFCs print it. */
const hex = (s: string) =>
  s
    .replace(/;[^\n]*/g, '')
    .replace(/\s+/g, '')
    .toLowerCase();
const parse = (type: string, text: string) => parseRecordText(recordTypeOf(type), text, ORIGIN);

const FOO_EXAMPLE_COM = '03 666f6f 07 6578616d706c65 03 636f6d 00';
const FOO_EXAMPLE_ORG = '03 666f6f 07 6578616d706c65 03 6f7267 00';

describe('SVCB and HTTPS: RFC 9460 Appendix D vectors', () => {
  // [presentation, wire]: D.1 AliasMode, D.2 ServiceMode.
  const VECTORS: Array<[string, string]> = [
    ['0 foo.example.com.', `0000 ${FOO_EXAMPLE_COM}`],
    ['1 .', '0001 00'],
    ['16 foo.example.com. port=53', `0010 ${FOO_EXAMPLE_COM} 0003 0002 0035`],
    ['1 foo.example.com. key667=hello', `0001 ${FOO_EXAMPLE_COM} 029b 0005 68656c6c6f`],
    ['1 foo.example.com. key667="hello\\210qoo"', `0001 ${FOO_EXAMPLE_COM} 029b 0009 68656c6c6fd2716f6f`],
    [
      '1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1"',
      `0001 ${FOO_EXAMPLE_COM} 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001`,
    ],
    [
      '1 example.com. ipv6hint="2001:db8:ffff:ffff:ffff:ffff:198.51.100.100"',
      '0001 07 6578616d706c65 03 636f6d 00 0006 0010 20010db8ffffffffffffffffc6336464',
    ],
    [
      '16 foo.example.org. (alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1)',
      `0010 ${FOO_EXAMPLE_ORG} 0000 0004 0001 0004 0001 0009 02 6832 05 68332d3139 0004 0004 c0000201`,
    ],
    [
      '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"',
      `0010 ${FOO_EXAMPLE_ORG} 0001 000c 08 665c6f6f2c626172 02 6832`,
    ],
    [
      '16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2',
      `0010 ${FOO_EXAMPLE_ORG} 0001 000c 08 665c6f6f2c626172 02 6832`,
    ],
  ];

  it.each(VECTORS)('SVCB %s', (text, wire) => {
    expect(parse('SVCB', text)).toBe(hex(wire));
  });

  it.each(VECTORS)('HTTPS %s (same RDATA)', (text, wire) => {
    expect(parse('HTTPS', text)).toBe(hex(wire));
  });

  it('the same vectors in RFC 3597 generic form give the same RDATA', () => {
    for (const [text, wire] of VECTORS) {
      const bytes = hex(wire);
      expect(parse('HTTPS', `\\# ${bytes.length / 2} ${bytes}`)).toBe(parse('HTTPS', text));
    }
  });

  it('no-default-alpn, ech (base64), dohpath and relative target names', () => {
    expect(parse('HTTPS', '1 svc alpn=h3 no-default-alpn port=8443 ech="AEj+DQ=="')).toBe(
      hex(
        `0001 03 737663 07 6578616d706c65 03 636f6d 00 0001 0003 02 6833 0002 0000 0003 0002 20fb 0005 0004 0048fe0d`,
      ),
    );
    expect(parse('SVCB', '1 doh.example.net. alpn=h2 dohpath=/dns-query{?dns}')).toBe(
      hex(
        `0001 03 646f68 07 6578616d706c65 03 6e6574 00 0001 0003 02 6832 0007 0010 ${Buffer.from('/dns-query{?dns}').toString('hex')}`,
      ),
    );
  });

  // RFC 9460 D.3 (failure cases) and section 8 / 2.4.2 rules.
  it.each([
    ['1 foo.example.com. key123=abc key123=def', /key123 appears more than once/],
    ['1 foo.example.com. mandatory', /mandatory needs a value/],
    ['1 foo.example.com. alpn', /alpn needs a value/],
    ['1 foo.example.com. port', /port needs a value/],
    ['1 foo.example.com. ipv4hint', /ipv4hint needs a value/],
    ['1 foo.example.com. ipv6hint', /ipv6hint needs a value/],
    ['1 foo.example.com. no-default-alpn=abc', /no-default-alpn takes no value/],
    ['1 foo.example.com. mandatory=key123', /mandatory lists key123, which the record does not have/],
    ['1 foo.example.com. mandatory=mandatory', /must not list mandatory itself/],
    ['1 foo.example.com. mandatory=key123,key123 key123=abc', /increasing order without repeats/],
    ['1 foo.example.com. no-default-alpn', /no-default-alpn needs alpn/],
    ['0 foo.example.com. alpn=h2', /AliasMode .* carries no SvcParams/],
    ['1 foo.example.com. key65535=x', /reserved/],
    ['1 foo.example.com. alpm=h2', /unknown SvcParamKey 'alpm'/],
    ['1 foo.example.com. port=65536', /port 65536 is out of range/],
    ['1 foo.example.com. ipv4hint=2001:db8::1', /not an IPv4 address/],
    ['1 foo.example.com. ipv6hint=192.0.2.1', /not an IPv6 address/],
    ['1 foo.example.com. alpn=h2,,h3', /empty item/],
    ['1 foo.example.com. ech=not*base64', /ech is not valid base64/],
    ['1 foo.example.com. "alpn=h2"', /unexpected quoted string/],
    ['70000 .', /SvcPriority 70000 is out of range/],
    ['1', /expects SvcPriority, TargetName/],
  ])('rejects %s', (text, message) => {
    expect(() => parse('SVCB', text)).toThrow(message);
  });

  it('checks generic RDATA too: keys out of order, truncated values, AliasMode with params', () => {
    // RFC 9460 2.2: keys in increasing order (this one has 3 then 1).
    expect(() => parse('HTTPS', '\\# 16 000100000300021e6100010003026833')).toThrow(/increasing order/);
    expect(() => parse('HTTPS', '\\# 8 000100000300021e')).toThrow(/truncated/);
    expect(() => parse('SVCB', '\\# 7 0000000003000235')).toThrow(/generic RDATA says 7 octets but has 8/);
    expect(() => parse('SVCB', '\\# 8 0001 00 0003 0001 35')).toThrow(/port: must be 2 octets/);
    expect(() => parse('SVCB', '\\# 9 0000 00 0003 0002 0035')).toThrow(/AliasMode/);
  });
});

describe('TLSA, SSHFP, DS, NAPTR', () => {
  it('TLSA (RFC 6698 2.3): digest split over tokens, SHA-256 and SHA-512 lengths', () => {
    expect(parse('TLSA', '0 0 1 d2abde240d7cd3ee6b4b28c54df034b9 7983a1d16e8a410e4561cb106618e971')).toBe(
      hex('00 00 01 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971'),
    );
    const sha512 =
      '92003ba34942dc74152e2f2c408d29eca5a520e7f2e06bb944f4dca346baf63c1b177615d466f6c4b71c216a50292bd58c9ebdd2f74e38fe51ffd48c43326cbc';
    expect(parse('TLSA', `1 1 2 ${sha512}`)).toBe(`010102${sha512}`);
    expect(parse('TLSA', '3 1 0 3059301306072a')).toBe('0301003059301306072a');
    expect(() => parse('TLSA', '3 1 1 abcd')).toThrow(/certificate data is 2 octets; type 1 needs 32/);
    expect(() => parse('TLSA', '3 1 1 xyz')).toThrow(/hexadecimal/);
    expect(() => parse('TLSA', '3 1 1')).toThrow(/expects usage, selector/);
  });

  it('SSHFP (RFC 4255 3.3)', () => {
    expect(parse('SSHFP', '2 1 123456789abcdef67890123456789abcdef67890')).toBe(
      '0201123456789abcdef67890123456789abcdef67890',
    );
    expect(() => parse('SSHFP', '2 2 123456789abcdef67890123456789abcdef67890')).toThrow(/20 octets; type 2 needs 32/);
    expect(() => parse('SSHFP', '2 1 12345')).toThrow(/odd number of hex digits/);
  });

  it('DS (RFC 4034 5.4), algorithm as number or mnemonic', () => {
    const wire = 'ec4505012bb183af5f22588179a53b0a98631fad1a292118';
    expect(parse('DS', '60485 5 1 ( 2BB183AF5F22588179A53B0A98631FAD1A292118 )'.replace(/[()]/g, ''))).toBe(wire);
    expect(parse('DS', '60485 RSASHA1 1 2BB183AF5F22588179A53B0A98631FAD1A292118')).toBe(wire);
    expect(() => parse('DS', '60485 5 2 2BB183AF5F22588179A53B0A98631FAD1A292118')).toThrow(
      /digest is 20 octets; type 2 needs 32/,
    );
    expect(() => parse('DS', '70000 5 1 2BB1')).toThrow(/key tag 70000 is out of range/);
  });

  it('NAPTR (RFC 3403 4.1): character-strings and an uncompressed replacement', () => {
    expect(parse('NAPTR', '100 10 "S" "SIP+D2U" "" _sip._udp.example.com.')).toBe(
      hex(`0064 000a 01 53 07 5349502b443255 00 04 5f736970 04 5f756470 07 6578616d706c65 03 636f6d 00`),
    );
    const regexp = '!^.*$!sip:info@example.com!';
    expect(parse('NAPTR', `10 100 "u" "E2U+sip" "${regexp}" .`)).toBe(
      hex(
        `000a 0064 01 75 07 4532552b736970 ${regexp.length.toString(16).padStart(2, '0')} ${Buffer.from(regexp).toString('hex')} 00`,
      ),
    );
    expect(() => parse('NAPTR', '100 10 "S" "SIP+D2U" ""')).toThrow(/expects 6 fields/);
    expect(() => parse('NAPTR', '100 10 "S!" "x" "" .')).toThrow(/flags "S!" must be letters and digits/);
  });
});

describe('LOC (RFC 1876)', () => {
  it.each([
    // RFC 1876 section 4 examples; size 30m = 0x33, defaults hp 10000m = 0x16, vp 10m = 0x13.
    ['42 21 54 N 71 06 18 W -24m 30m', '00 33 16 13 89172dd0 70be15f0 00988d20'],
    ['42 21 43.952 N 71 5 6.344 W -24m 1m 200m', '00 12 24 13 89170690 70bf2dd8 00988d20'],
    ['52 22 23 N 4 53 32 E -2m 0m 0m 0m', '00 00 00 00 8b3cf018 810cbce0 009895b8'],
    ['0 S 180 W 42849672.95m 90000000m 0 0', '00 99 00 00 80000000 59604e00 ffffffff'],
  ])('%s', (text, wire) => {
    expect(parse('LOC', text)).toBe(hex(wire));
  });

  it.each([
    ['91 N 0 E 0m', /degrees '91' must be 0..90/],
    ['90 1 N 0 E 0m', /more than 90 degrees/],
    ['42 60 N 0 E 0m', /minutes '60'/],
    ['42 1 2.3456 N 0 E 0m', /seconds '2.3456'/],
    ['42 N 181 E 0m', /degrees '181' must be 0..180/],
    ['42 21 54 X 71 06 18 W -24m', /expected degrees \[minutes \[seconds\]\] then N or S/],
    ['42 21 54 N 71 06 18 W', /altitude is missing/],
    ['42 N 71 W -100001m', /altitude/],
    ['42 N 71 W 0m 15m', /size 15m cannot be stored/],
    ['42 N 71 W 0m 1m 1m 1m 1m', /too many/],
  ])('rejects %s', (text, message) => {
    expect(() => parse('LOC', text)).toThrow(message);
  });

  it('checks generic RDATA: 16 octets, version 0, digits 0-9', () => {
    expect(parse('LOC', '\\# 16 003316 1389172dd070be15f000988d20')).toBe('0033161389172dd070be15f000988d20');
    expect(() => parse('LOC', '\\# 16 013316 1389172dd070be15f000988d20')).toThrow(/version must be 0/);
    expect(() => parse('LOC', '\\# 16 00a316 1389172dd070be15f000988d20')).toThrow(/digit over 9/);
    expect(() => parse('LOC', '\\# 4 00331613')).toThrow(/16 octets/);
  });
});

describe('RFC 3597: unknown types and generic RDATA', () => {
  it('TYPEnnn with generic RDATA is served as written', () => {
    expect(recordTypeOf('TYPE65400')).toBe('TYPE65400');
    expect(parse('TYPE65400', '\\# 3 abcdef')).toBe('abcdef');
    expect(parse('type65400', '\\# 3 ab cd ef')).toBe('abcdef');
    expect(parse('TYPE65400', '\\# 0')).toBe('');
  });

  it('TYPEnnn of a known type is that type, in either form', () => {
    expect(recordTypeOf('TYPE1')).toBe('A');
    expect(recordTypeOf('TYPE65')).toBe('HTTPS');
    expect(recordTypeOf('type39')).toBe('DNAME');
    expect(parse('TYPE1', '\\# 4 c0000201')).toBe('192.0.2.1');
    expect(parse('A', '\\# 4 C0000201')).toBe('192.0.2.1');
    expect(parse('TYPE65', '1 . alpn=h2')).toBe(hex('0001 00 0001 0003 02 6832'));
    expect(parse('CNAME', `\\# 17 ${hex(FOO_EXAMPLE_COM)}`)).toBe('foo.example.com');
    expect(parse('MX', `\\# 19 000a ${hex(FOO_EXAMPLE_COM)}`)).toEqual({ preference: 10, exchange: 'foo.example.com' });
    expect(parse('TXT', '\\# 6 05 68656c6c6f')).toEqual(['hello']);
    expect(parse('DNAME', 'example.net.')).toBe('example.net');
  });

  it.each<[string, string, RegExp]>([
    ['TYPE65400', '3 abcdef', /TYPE65400 needs its RDATA in RFC 3597 generic form/],
    ['TYPE65400', '\\# 3 abcd', /generic RDATA says 3 octets but has 2/],
    ['TYPE65400', '\\# 2 abc', /odd number of hex digits/],
    ['TYPE65400', '\\#', /needs a length/],
    ['A', '\\# 3 c00002', /generic RDATA is not a valid A/],
    ['CNAME', '\\# 3 c00c00', /generic RDATA is not a valid CNAME/],
    ['MX', `\\# 20 000a ${hex(FOO_EXAMPLE_COM)}00`, /generic RDATA is not a valid MX/],
  ])('%s %s fails', (type, text, message) => {
    expect(() => parse(type, text)).toThrow(message);
  });

  it.each([
    ['TYPE0', /reserved/],
    ['TYPE41', /OPT is a pseudo-record/],
    ['TYPE46', /made by Meridian itself \(online signing/],
    ['TYPE252', /query or meta type/],
    ['TYPE65536', /out of range/],
    ['HINFO', /unknown record type 'HINFO'/],
  ])('type %s is refused', (type, message) => {
    expect(() => recordTypeOf(type)).toThrow(message);
  });
});

describe('master files: the new types, CLASS1, and file:line errors', () => {
  const zone = (...lines: string[]) => ['$ORIGIN example.com.', '$TTL 300', ...lines].join('\n');

  it('reads every type, multi-line SVCB, CLASS1 and TYPEnnn', () => {
    const records = parseMasterFile(
      zone(
        '@ CLASS1 HTTPS 1 . alpn="h2,h3"',
        'svc IN SVCB 16 foo.example.org. (alpn=h2,h3-19 mandatory=ipv4hint,alpn',
        '        ipv4hint=192.0.2.1)',
        '_443._tcp TLSA 3 1 1 ( d2abde240d7cd3ee6b4b28c54df034b9',
        '                       7983a1d16e8a410e4561cb106618e971 )',
        'host SSHFP 2 1 123456789abcdef67890123456789abcdef67890',
        '@ NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp',
        '@ LOC 42 21 54 N 71 06 18 W -24m 30m',
        'sub NS ns.sub',
        'sub DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
        'old DNAME example.net.',
        'x TYPE65400 \\# 3 abcdef',
        'y CLASS1 TYPE1 \\# 4 c0000201',
      ),
      { file: 'z.zone', origin: ORIGIN },
    );
    expect(records.map((r) => `${r.name} ${r.type}`)).toEqual([
      'example.com HTTPS',
      'svc.example.com SVCB',
      '_443._tcp.example.com TLSA',
      'host.example.com SSHFP',
      'example.com NAPTR',
      'example.com LOC',
      'sub.example.com NS',
      'sub.example.com DS',
      'old.example.com DNAME',
      'x.example.com TYPE65400',
      'y.example.com A',
    ]);
    expect(records[1].data).toBe(
      hex(`0010 ${FOO_EXAMPLE_ORG} 0000 0004 0001 0004 0001 0009 02 6832 05 68332d3139 0004 0004 c0000201`),
    );
    expect(records[10].data).toBe('192.0.2.1');
  });

  it.each<[string, number, RegExp]>([
    [zone('@ HTTP 1 .'), 3, /unknown record type 'HTTP' \(did you mean "HTTPS"\?\)/],
    [zone('www A 192.0.2.1', 'svc SVCB 1 . port=99999'), 4, /port 99999 is out of range/],
    [zone('x TYPE65400 (', '  \\# 4 abcdef )'), 3, /generic RDATA says 4 octets but has 3/],
    [zone('loc LOC 42 N 71 W 0m 15m'), 3, /size 15m cannot be stored/],
    [zone('t TXT "bin\\200"'), 3, /not valid UTF-8/],
  ])('%#: errors name the line', (text, line, message) => {
    let caught: unknown;
    try {
      parseMasterFile(text, { file: 'z.zone', origin: ORIGIN });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ZoneFileError);
    expect((caught as ZoneFileError).line).toBe(line);
    expect((caught as ZoneFileError).message).toMatch(message);
    expect((caught as ZoneFileError).message.startsWith(`z.zone:${line}: `)).toBe(true);
  });

  it('type names are checked once per type', () => {
    const types: RecordType[] = ['SVCB', 'HTTPS', 'TLSA', 'SSHFP', 'NAPTR', 'LOC', 'DS', 'DNAME'];
    expect(types.map((t) => recordTypeOf(t.toLowerCase()))).toEqual(types);
  });
});
