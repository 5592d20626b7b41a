import { describe, expect, it } from 'vitest';
import {
  decodeEscapes,
  parseRdata,
  parseRdataText,
  parseTtl,
  tokenize,
  TokenizeError,
} from '../../../src/zone/rdata.js';
import type { StaticType } from '../../../src/zone/types.js';

const ORIGIN = 'example.org';

describe('parseTtl', () => {
  it.each([
    ['0', 0],
    ['300', 300],
    ['2147483647', 2147483647],
    ['1h', 3600],
    ['1H30m', 5400],
    ['1w2d3h4m5s', 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5],
    ['2W', 1209600],
    ['90s', 90],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseTtl(text)).toBe(seconds);
  });

  it.each([
    ['', /bad TTL ''/],
    ['-1', /bad TTL '-1'/],
    ['1.5', /bad TTL/],
    ['1x', /bad TTL '1x'/],
    ['h', /bad TTL 'h'/],
    ['1h30', /bad TTL '1h30'/],
    ['2147483648', /out of range 0..2147483647/],
    ['3600000w', /out of range/],
  ])('rejects %j', (text, message) => {
    expect(() => parseTtl(text)).toThrow(message);
  });
});

/** Happy paths: [type, tokens, expected data]. */
const GOOD: [StaticType, string[], unknown][] = [
  [
    'SOA',
    ['ns1', 'hostmaster.example.org.', '2024010101', '2h', '15m', '1w', '300'],
    {
      mname: 'ns1.example.org',
      rname: 'hostmaster.example.org',
      serial: 2024010101,
      refresh: 7200,
      retry: 900,
      expire: 604800,
      minimum: 300,
    },
  ],
  [
    'SOA',
    ['@', 'h.', '4294967295', '0', '0', '0', '0'],
    { mname: 'example.org', rname: 'h', serial: 4294967295, refresh: 0, retry: 0, expire: 0, minimum: 0 },
  ],
  ['NS', ['ns1'], 'ns1.example.org'],
  ['NS', ['NS1.Example.NET.'], 'ns1.example.net'],
  ['CNAME', ['@'], 'example.org'],
  ['CNAME', ['www.example.net.'], 'www.example.net'],
  ['PTR', ['host.example.org.'], 'host.example.org'],
  ['A', ['192.0.2.1'], '192.0.2.1'],
  ['A', ['0.0.0.0'], '0.0.0.0'],
  ['A', ['255.255.255.255'], '255.255.255.255'],
  ['AAAA', ['2001:DB8::1'], '2001:db8::1'],
  ['AAAA', ['::ffff:192.0.2.1'], '::ffff:192.0.2.1'],
  ['AAAA', ['::'], '::'],
  ['MX', ['10', 'mail'], { preference: 10, exchange: 'mail.example.org' }],
  ['MX', ['0', '.'], { preference: 0, exchange: '' }],
  ['MX', ['65535', 'mx.example.net.'], { preference: 65535, exchange: 'mx.example.net' }],
  ['TXT', ['v=spf1 -all'], ['v=spf1 -all']],
  ['TXT', ['part one', 'part two'], ['part one', 'part two']],
  ['TXT', [''], ['']],
  ['TXT', ['x'.repeat(255)], ['x'.repeat(255)]],
  ['SRV', ['10', '5', '443', 'sip.example.net.'], { priority: 10, weight: 5, port: 443, target: 'sip.example.net' }],
  ['SRV', ['0', '0', '0', '.'], { priority: 0, weight: 0, port: 0, target: '' }],
  ['CAA', ['0', 'issue', 'letsencrypt.org'], { flags: 0, tag: 'issue', value: 'letsencrypt.org' }],
  ['CAA', ['128', 'iodef', 'mailto:sec@example.org'], { flags: 128, tag: 'iodef', value: 'mailto:sec@example.org' }],
  ['CAA', ['0', 'issue', ''], { flags: 0, tag: 'issue', value: '' }],
];

/** Error cases: [type, tokens, expected message]. */
const BAD: [StaticType, string[], RegExp][] = [
  [
    'SOA',
    ['ns1', 'h', '1', '2', '3', '4'],
    /SOA expects 7 fields \(mname rname serial refresh retry expire minimum\), got 6/,
  ],
  ['SOA', ['ns1', 'h', '4294967296', '1', '1', '1', '1'], /SOA serial 4294967296 is out of range 0..4294967295/],
  ['SOA', ['ns1', 'h', 'x', '1', '1', '1', '1'], /SOA serial must be an unsigned integer, got 'x'/],
  ['SOA', ['ns1', 'h', '1', '1q', '1', '1', '1'], /bad SOA refresh '1q'/],
  ['SOA', ['ns1', 'h', '1', '1', '-5', '1', '1'], /bad SOA retry '-5'/],
  ['SOA', ['ns1', 'h', '1', '1', '1', '2147483648', '1'], /SOA expire '2147483648' is out of range/],
  ['SOA', ['ns1', 'h', '1', '1', '1', '1', 'x'], /bad SOA minimum 'x'/],
  ['SOA', ['a..b', 'h', '1', '1', '1', '1', '1'], /bad SOA mname 'a..b': empty label/],
  ['SOA', ['ns1', 'john\\.doe', '1', '1', '1', '1', '1'], /bad SOA rname 'john\\.doe': escaped characters/],
  ['NS', [], /NS expects 1 field \(nsdname\), got 0/],
  ['NS', ['a', 'b'], /NS expects 1 field \(nsdname\), got 2: 'a b'/],
  ['NS', ['bad name!'], /bad NS nsdname 'bad name!': invalid character ' '/],
  ['CNAME', ['a.*.example.'], /bad CNAME target .* leftmost label/],
  ['PTR', [`${'x'.repeat(64)}.`], /bad PTR target .* max 63/],
  ['A', ['1.2.3'], /bad IPv4 address '1.2.3'/],
  ['A', ['256.1.1.1'], /bad IPv4 address '256.1.1.1'/],
  ['A', ['01.2.3.4'], /bad IPv4 address '01.2.3.4'/],
  ['A', ['192.0.2.010'], /bad IPv4 address '192.0.2.010'/],
  ['A', ['2001:db8::1'], /bad IPv4 address/],
  ['A', ['1.2.3.4', '5.6.7.8'], /A expects 1 field \(address\), got 2/],
  ['AAAA', ['192.0.2.1'], /bad IPv6 address '192.0.2.1'/],
  ['AAAA', ['2001:db8:::1'], /bad IPv6 address/],
  ['AAAA', ['fe80::1%eth0'], /bad IPv6 address 'fe80::1%eth0'/],
  ['AAAA', [], /AAAA expects 1 field/],
  ['MX', ['mail'], /MX expects 2 fields \(preference exchange\), got 1/],
  ['MX', ['65536', 'mail'], /MX preference 65536 is out of range 0..65535/],
  ['MX', ['-1', 'mail'], /MX preference must be an unsigned integer, got '-1'/],
  ['MX', ['10', 'a..b'], /bad MX exchange 'a..b'/],
  ['TXT', [], /TXT needs at least one character-string/],
  ['TXT', ['x'.repeat(256)], /TXT character-string is 256 bytes long, max 255/],
  ['TXT', ['é'.repeat(128)], /256 bytes long/],
  ['SRV', ['10', '5', '443'], /SRV expects 4 fields \(priority weight port target\), got 3/],
  ['SRV', ['70000', '5', '443', 'sip'], /SRV priority 70000 is out of range 0..65535/],
  ['SRV', ['1', '65536', '443', 'sip'], /SRV weight 65536 is out of range/],
  ['SRV', ['1', '5', 'https', 'sip'], /SRV port must be an unsigned integer, got 'https'/],
  ['SRV', ['1', '5', '443', 'a..'], /bad SRV target 'a..'/],
  ['CAA', ['0', 'issue'], /CAA expects 3 fields \(flags tag value\), got 2/],
  ['CAA', ['256', 'issue', 'ca.example'], /CAA flags 256 is out of range 0..255/],
  ['CAA', ['x', 'issue', 'ca.example'], /CAA flags must be an unsigned integer/],
  ['CAA', ['0', 'is-sue', 'ca.example'], /bad CAA tag 'is-sue'/],
  ['CAA', ['0', '', 'ca.example'], /bad CAA tag ''/],
  ['CAA', ['0', 'a'.repeat(16), 'ca.example'], /bad CAA tag/],
];

describe('parseRdata', () => {
  it.each(GOOD)('%s %j', (type, tokens, expected) => {
    expect(parseRdata(type, tokens, ORIGIN)).toEqual(expected);
  });

  it.each(BAD)('%s %j fails', (type, tokens, message) => {
    expect(() => parseRdata(type, tokens, ORIGIN)).toThrow(message);
  });

  it('resolves relative names against the root origin', () => {
    expect(parseRdata('NS', ['ns1.example'], '')).toBe('ns1.example');
  });

  it('rejects a type it does not know (JS callers)', () => {
    expect(() => parseRdata('HINFO' as StaticType, ['a', 'b'], ORIGIN)).toThrow(/unknown record type 'HINFO'/);
  });
});

describe('decodeEscapes', () => {
  it.each([
    ['plain', 'plain'],
    ['a\\"b', 'a"b'],
    ['a\\\\b', 'a\\b'],
    ['semi\\;colon', 'semi;colon'],
    ['\\065\\066C', 'ABC'],
    ['caf\\195\\169', 'café'],
  ])('%j -> %j', (raw, decoded) => {
    expect(decodeEscapes(raw)).toBe(decoded);
  });

  it.each([
    ['abc\\', /dangling backslash/],
    ['\\12', /exactly three digits/],
    ['\\256', /over 255/],
    ['\\255', /not valid UTF-8/],
  ])('rejects %j', (raw, message) => {
    expect(() => decodeEscapes(raw)).toThrow(message);
  });
});

describe('tokenize', () => {
  it('splits words, quoted strings and comments', () => {
    const [line] = tokenize('a  "b c;d" e ; comment "x"');
    expect(line.tokens).toEqual([
      { text: 'a', quoted: false, raw: 'a', joined: false },
      { text: 'b c;d', quoted: true, raw: 'b c;d', joined: false },
      { text: 'e', quoted: false, raw: 'e', joined: false },
    ]);
  });

  it('marks a token that follows the previous one with nothing between (key="value")', () => {
    const [line] = tokenize('alpn="h2,h3" port= "1" x"y"');
    expect(line.tokens.map((t) => [t.text, t.joined])).toEqual([
      ['alpn=', false],
      ['h2,h3', true],
      ['port=', false],
      ['1', false],
      ['x', false],
      ['y', true],
    ]);
  });

  it('keeps a quoted string that is not UTF-8 as written, flagged, for binary values', () => {
    const [line] = tokenize('"hello\\210qoo"');
    expect(line.tokens[0]).toMatchObject({
      text: 'hello\\210qoo',
      raw: 'hello\\210qoo',
      notUtf8: expect.stringMatching(/not valid UTF-8/),
    });
    expect(() => parseRdataText('TXT', '"hello\\210qoo"', ORIGIN)).toThrow(/not valid UTF-8/);
  });

  it('joins lines inside parentheses and records the start line and indentation', () => {
    const lines = tokenize('\n; only a comment\nx ( 1\n 2 ) 3\n\t y\n');
    expect(lines).toEqual([
      {
        line: 3,
        indented: false,
        tokens: ['x', '1', '2', '3'].map((text) => ({ text, quoted: false, raw: text, joined: false })),
      },
      { line: 5, indented: true, tokens: [{ text: 'y', quoted: false, raw: 'y', joined: false }] },
    ]);
  });

  it('keeps backslash sequences in bare words verbatim', () => {
    expect(tokenize('a\\ b\\;c d')[0].tokens.map((t) => t.text)).toEqual(['a\\ b\\;c', 'd']);
  });

  it('treats CRLF line ends like LF', () => {
    expect(tokenize('a b\r\nc\r\n').map((l) => l.tokens.map((t) => t.text))).toEqual([['a', 'b'], ['c']]);
  });

  it.each([
    ['a "b', 1, /unterminated quoted string/],
    ['x\na "b\nc"', 2, /unterminated quoted string/],
    ['a )', 1, /unbalanced '\)'/],
    ['x\ny ( 1\n2\n', 2, /unterminated '\('/],
    ['a ( ( b ) )', 1, /nested '\('/],
    ['a "\\999"', 1, /over 255/],
  ])('%j fails on line %d', (text, line, message) => {
    let caught: unknown;
    try {
      tokenize(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TokenizeError);
    expect((caught as TokenizeError).message).toMatch(message);
    expect((caught as TokenizeError).line).toBe(line);
  });
});

describe('parseRdataText (YAML form)', () => {
  it.each([
    ['MX', '10 mail', { preference: 10, exchange: 'mail.example.org' }],
    ['SRV', '10 5 443 sip.example.net.', { priority: 10, weight: 5, port: 443, target: 'sip.example.net' }],
    ['CAA', '0 issue "letsencrypt.org"', { flags: 0, tag: 'issue', value: 'letsencrypt.org' }],
    ['CAA', '0 issue ";"', { flags: 0, tag: 'issue', value: ';' }],
    ['TXT', '"v=spf1 -all"', ['v=spf1 -all']],
    ['TXT', '"part one" "part two"', ['part one', 'part two']],
    ['TXT', '"say \\"hi\\"; back\\\\slash"', ['say "hi"; back\\slash']],
    ['TXT', 'bare words', ['bare', 'words']],
    ['TXT', 'semi\\;colon', ['semi;colon']],
    ['TXT', '"\\065\\066"', ['AB']],
    ['A', '192.0.2.1 ; trailing comment', '192.0.2.1'],
    [
      'SOA',
      'ns1 hostmaster ( 1 2 3 4 5 )',
      {
        mname: 'ns1.example.org',
        rname: 'hostmaster.example.org',
        serial: 1,
        refresh: 2,
        retry: 3,
        expire: 4,
        minimum: 5,
      },
    ],
  ] as [StaticType, string, unknown][])('%s %j', (type, text, expected) => {
    expect(parseRdataText(type, text, ORIGIN)).toEqual(expected);
  });

  it.each([
    ['TXT', '"unterminated', /unterminated quoted string/],
    ['TXT', '', /TXT needs at least one/],
    ['TXT', '; just a comment', /TXT needs at least one/],
    ['MX', '10', /MX expects 2 fields/],
    ['A', '1.2.3', /bad IPv4 address '1.2.3'/],
    ['A', '1.2.3.4\n5.6.7.8', /single line/],
    ['NS', 'ns\\.1', /escaped characters/],
    ['SRV', '1 2 3 ( sip', /unterminated '\('/],
  ] as [StaticType, string, RegExp][])('%s %j fails', (type, text, message) => {
    expect(() => parseRdataText(type, text, ORIGIN)).toThrow(message);
  });
});
