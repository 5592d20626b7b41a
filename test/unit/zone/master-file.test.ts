import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ZoneFileError } from '../../../src/errors.js';
import { parseMasterFile, type MasterFileOptions } from '../../../src/zone/master-file.js';
import type { ZoneRecord } from '../../../src/zone/types.js';

const OPTS: MasterFileOptions = { file: 'test.zone', origin: 'example.org' };

/** Join lines so each test's line numbers are easy to read. */
const zone = (...lines: string[]): string => `${lines.join('\n')}\n`;

const parse = (text: string, opts: Partial<MasterFileOptions> = {}): ZoneRecord[] =>
  parseMasterFile(text, { ...OPTS, ...opts });

/** Parse expecting a ZoneFileError; return it. */
function parseError(text: string, opts: Partial<MasterFileOptions> = {}): ZoneFileError {
  try {
    parse(text, opts);
  } catch (err) {
    if (err instanceof ZoneFileError) return err;
    throw err;
  }
  throw new Error('expected a ZoneFileError');
}

describe('parseMasterFile: records', () => {
  it.each([
    ['www 300 IN A 192.0.2.1', { name: 'www.example.org', type: 'A', ttl: 300, data: '192.0.2.1' }],
    ['www IN AAAA 2001:DB8::1', { name: 'www.example.org', type: 'AAAA', ttl: 3600, data: '2001:db8::1' }],
    ['@ NS ns1', { name: 'example.org', type: 'NS', ttl: 3600, data: 'ns1.example.org' }],
    ['www CNAME web.example.net.', { name: 'www.example.org', type: 'CNAME', ttl: 3600, data: 'web.example.net' }],
    ['1.2 PTR host.example.org.', { name: '1.2.example.org', type: 'PTR', ttl: 3600, data: 'host.example.org' }],
    [
      '@ MX 10 mail',
      { name: 'example.org', type: 'MX', ttl: 3600, data: { preference: 10, exchange: 'mail.example.org' } },
    ],
    ['@ TXT "v=spf1 -all"', { name: 'example.org', type: 'TXT', ttl: 3600, data: ['v=spf1 -all'] }],
    [
      '_sip._tcp SRV 10 5 5060 sip',
      {
        name: '_sip._tcp.example.org',
        type: 'SRV',
        ttl: 3600,
        data: { priority: 10, weight: 5, port: 5060, target: 'sip.example.org' },
      },
    ],
    [
      '@ CAA 0 issue "ca.example"',
      { name: 'example.org', type: 'CAA', ttl: 3600, data: { flags: 0, tag: 'issue', value: 'ca.example' } },
    ],
    [
      '@ SOA ns1 hostmaster 1 2h 15m 1w 300',
      {
        name: 'example.org',
        type: 'SOA',
        ttl: 3600,
        data: {
          mname: 'ns1.example.org',
          rname: 'hostmaster.example.org',
          serial: 1,
          refresh: 7200,
          retry: 900,
          expire: 604800,
          minimum: 300,
        },
      },
    ],
    ['*.apps A 192.0.2.99', { name: '*.apps.example.org', type: 'A', ttl: 3600, data: '192.0.2.99' }],
    ['WWW.Example.ORG. a 192.0.2.1', { name: 'www.example.org', type: 'A', ttl: 3600, data: '192.0.2.1' }],
    ['. 60 NS a.root-servers.net.', { name: '', type: 'NS', ttl: 60, data: 'a.root-servers.net' }],
  ])('%s', (line, expected) => {
    expect(parse(zone('$TTL 1h', line))).toEqual([expected]);
  });

  it('accepts TTL and class in either order, and either omitted', () => {
    const records = parse(
      zone(
        '$TTL 100',
        'a 1 IN A 192.0.2.1',
        'b IN 2 A 192.0.2.2',
        'c 3 A 192.0.2.3',
        'd IN A 192.0.2.4',
        'e A 192.0.2.5',
        'f in 1m a 192.0.2.6',
        'g CLASS1 A 192.0.2.7',
      ),
    );
    expect(records.map((r) => [r.name, r.ttl])).toEqual([
      ['a.example.org', 1],
      ['b.example.org', 2],
      ['c.example.org', 3],
      ['d.example.org', 100],
      ['e.example.org', 100],
      ['f.example.org', 60],
      ['g.example.org', 100],
    ]);
  });

  it('continues the previous owner on lines starting with whitespace', () => {
    const records = parse(
      zone(
        '$TTL 60',
        'www A 192.0.2.1',
        '    AAAA 2001:db8::1',
        '\tTXT "hello"',
        'ftp A 192.0.2.2',
        '  60 IN A 192.0.2.3',
      ),
    );
    expect(records.map((r) => `${r.name} ${r.type}`)).toEqual([
      'www.example.org A',
      'www.example.org AAAA',
      'www.example.org TXT',
      'ftp.example.org A',
      'ftp.example.org A',
    ]);
  });

  it('handles $ORIGIN changes mid-file, absolute and relative', () => {
    const records = parse(
      zone(
        '$TTL 60',
        'a A 192.0.2.1',
        '$ORIGIN sub.example.org.',
        'b A 192.0.2.2',
        '@ MX 10 mx',
        '$ORIGIN deeper', // relative to sub.example.org
        'c CNAME b.sub.example.org.',
        '$ORIGIN Example.NET.',
        'd NS ns',
      ),
    );
    expect(records.map((r) => [r.name, r.data])).toEqual([
      ['a.example.org', '192.0.2.1'],
      ['b.sub.example.org', '192.0.2.2'],
      ['sub.example.org', { preference: 10, exchange: 'mx.sub.example.org' }],
      ['c.deeper.sub.example.org', 'b.sub.example.org'],
      ['d.example.net', 'ns.example.net'],
    ]);
  });

  it('applies $TTL only from where it appears, and lets a later $TTL override', () => {
    const records = parse(zone('a A 192.0.2.1', '$TTL 2h', 'b A 192.0.2.2', '$TTL 30', 'c A 192.0.2.3'), {
      defaultTtl: 5,
    });
    expect(records.map((r) => r.ttl)).toEqual([5, 7200, 30]);
  });

  it('prefers explicit TTL > $TTL > defaultTtl and never uses the SOA minimum', () => {
    expect(parse(zone('@ SOA ns h 1 1 1 1 999', 'a A 192.0.2.1'), { defaultTtl: 42 }).map((r) => r.ttl)).toEqual([
      42, 42,
    ]);
    expect(parse(zone('$TTL 7', 'a 9 A 192.0.2.1', 'b A 192.0.2.2'), { defaultTtl: 42 }).map((r) => r.ttl)).toEqual([
      9, 7,
    ]);
  });

  it('parses the classic multi-line SOA with comments inside the parentheses', () => {
    const [soa, ns] = parse(
      zone(
        '$TTL 86400',
        '@   IN  SOA  ns1.example.org. hostmaster.example.org. (',
        '            2024010101 ; serial',
        '            3H         ; refresh',
        '            15M        ; retry (with a ) in a comment)',
        '            1W         ; expire',
        '            1D )       ; minimum',
        '    IN  NS   ns1',
      ),
    );
    expect(soa).toEqual({
      name: 'example.org',
      type: 'SOA',
      ttl: 86400,
      data: {
        mname: 'ns1.example.org',
        rname: 'hostmaster.example.org',
        serial: 2024010101,
        refresh: 10800,
        retry: 900,
        expire: 604800,
        minimum: 86400,
      },
    });
    // The indented line after the closing parenthesis continues the SOA owner.
    expect(ns).toEqual({ name: 'example.org', type: 'NS', ttl: 86400, data: 'ns1.example.org' });
  });

  it('reads quoted TXT strings with spaces, semicolons and escapes', () => {
    const [txt] = parse(
      zone('$TTL 60', '@ TXT "v=DMARC1; p=reject" "say \\"hi\\"" "back\\\\slash" "\\065BC" ""; comment'),
    );
    expect(txt.data).toEqual(['v=DMARC1; p=reject', 'say "hi"', 'back\\slash', 'ABC', '']);
  });

  it('reads a TXT record split over lines by parentheses', () => {
    const [txt] = parse(zone('$TTL 60', 'k._domainkey TXT ( "v=DKIM1; k=rsa; "', '    "p=MIGf" )'));
    expect(txt.data).toEqual(['v=DKIM1; k=rsa; ', 'p=MIGf']);
  });

  it('accepts CRLF line endings and a missing final newline', () => {
    expect(parse('$TTL 60\r\nwww A 192.0.2.1\r\nftp A 192.0.2.2').map((r) => r.name)).toEqual([
      'www.example.org',
      'ftp.example.org',
    ]);
  });

  it('returns nothing for an empty or comment-only file', () => {
    expect(parse('')).toEqual([]);
    expect(parse(zone('; nothing here', '   ', '; still nothing'))).toEqual([]);
  });

  it('works with the root as origin', () => {
    expect(parse(zone('$TTL 60', 'example A 192.0.2.1'), { origin: '' })[0].name).toBe('example');
  });
});

describe('parseMasterFile: errors', () => {
  it.each([
    [zone('$TTL 60', 'www A 1.2.3'), 2, "bad IPv4 address '1.2.3'"],
    [zone('$TTL 60', 'www AAAA 1.2.3.4'), 2, "bad IPv6 address '1.2.3.4'"],
    [zone('$TTL 60', 'www FOO bar'), 2, "unknown record type 'FOO'"],
    [zone('$TTL 60', 'www HINFO "cpu" "os"'), 2, "unknown record type 'HINFO'"],
    [zone('$TTL 60', 'www 60 IN'), 2, 'missing record type'],
    [zone('$TTL 60', 'www CH A 192.0.2.1'), 2, "unsupported class 'CH': only IN is supported"],
    [zone('$TTL 60', 'www IN IN A 192.0.2.1'), 2, "duplicate class 'IN'"],
    [zone('$TTL 60', 'www CLASS3 A 192.0.2.1'), 2, "unsupported class 'CLASS3'"],
    [zone('$TTL 60', 'www 1 2 A 192.0.2.1'), 2, "duplicate TTL '2'"],
    [zone('$TTL 60', 'www 99999999999 A 192.0.2.1'), 2, 'out of range 0..2147483647'],
    [zone('$TTL 60', 'www 1x A 192.0.2.1'), 2, "bad TTL '1x'"],
    [zone('www A 192.0.2.1'), 1, 'no TTL on this record and no $TTL'],
    [zone('$TTL 60', '  A 192.0.2.1'), 2, 'no previous owner name'],
    [zone('$TTL 60', 'a..b A 192.0.2.1'), 2, "bad owner name 'a..b': empty label"],
    [zone('$TTL 60', 'a\\.b A 192.0.2.1'), 2, "bad owner name 'a\\.b': escaped characters"],
    [zone('$TTL 60', '"www" A 192.0.2.1'), 2, 'owner name must not be a quoted string'],
    [zone('$TTL 60', 'www MX 70000 mail'), 2, 'MX preference 70000 is out of range 0..65535'],
    [zone('$TTL 60', 'www MX mail'), 2, 'MX expects 2 fields'],
    [zone('$TTL 60', '_s._tcp SRV 1 2 port sip'), 2, "SRV port must be an unsigned integer, got 'port'"],
    [zone('$TTL 60', '@ CAA 0 "issue" ca.example extra'), 2, 'CAA expects 3 fields'],
    [zone('$TTL 60', '@ CAA 300 issue "ca.example"'), 2, 'CAA flags 300 is out of range 0..255'],
    [zone('$TTL 60', '@ TXT'), 2, 'TXT needs at least one character-string'],
    [zone('$TTL 60', `@ TXT "${'x'.repeat(256)}"`), 2, 'TXT character-string is 256 bytes long'],
    [zone('$TTL 60', '@ SOA ns h 1 2 3 4'), 2, 'SOA expects 7 fields'],
    [zone('$TTL 60', 'www TXT "open'), 2, 'unterminated quoted string'],
    [zone('$TTL 60', 'www A 192.0.2.1 )'), 2, "unbalanced ')'"],
    [zone('$TTL 60', 'www TXT "x" "\\300"'), 2, "bad escape '\\300'"],
    [zone('$INCLUDE other.zone'), 1, '$INCLUDE is not supported'],
    [zone('$GENERATE 1-10 $ A 192.0.2.$'), 1, "unknown directive '$GENERATE'"],
    [zone('$ORIGIN'), 1, '$ORIGIN expects 1 argument, got 0'],
    [zone('$ORIGIN a..b.'), 1, "bad $ORIGIN 'a..b.'"],
    [zone('$TTL 1 2'), 1, '$TTL expects 1 argument, got 2'],
    [zone('$TTL forever'), 1, "bad TTL 'forever'"],
    [zone('$TTL "60"'), 1, '$TTL value must not be a quoted string'],
  ])('%j fails on line %d', (text, line, message) => {
    const err = parseError(text);
    expect(err.file).toBe('test.zone');
    expect(err.line).toBe(line);
    expect(err.detail).toContain(message);
    expect(err.message).toBe(`test.zone:${line}: ${err.detail}`);
  });

  it('reports the line where a multi-line record starts (line 7 of the file)', () => {
    const text = zone(
      '$TTL 1h', // 1
      '@ SOA ns1 hostmaster ( 1 2 3 4 5 )', // 2
      '  NS ns1', // 3
      '; comment', // 4
      'ns1 A 192.0.2.1', // 5
      '', // 6
      'mail MX ( 10', // 7
      '         a..b ) ; bad exchange', // 8
      'www A 192.0.2.2', // 9
    );
    const err = parseError(text);
    expect(err.line).toBe(7);
    expect(err.detail).toBe("bad MX exchange 'a..b': empty label in name 'a..b.example.org'");
  });

  it('reports an error on a simple line 7', () => {
    const text = zone(
      '$TTL 1h',
      'a A 192.0.2.1',
      'b A 192.0.2.2',
      '',
      '; c',
      'd A 192.0.2.4',
      'e A 192.0.2.500',
      'f A 192.0.2.6',
    );
    const err = parseError(text);
    expect(err.line).toBe(7);
    expect(err.detail).toBe("bad IPv4 address '192.0.2.500'");
  });

  it('reports an unterminated parenthesis at EOF on the line where the record starts', () => {
    const err = parseError(zone('$TTL 1h', 'a A 192.0.2.1', '@ SOA ns1 hostmaster (', '   1 ; serial', '   2 3 4 5'));
    expect(err.line).toBe(3);
    expect(err.detail).toMatch(/unterminated '\('/);
  });

  it('reports an unterminated quoted string on its own line', () => {
    const err = parseError(zone('$TTL 1h', 'a A 192.0.2.1', 'b TXT "one', 'two"'));
    expect(err.line).toBe(3);
    expect(err.detail).toBe('unterminated quoted string');
  });

  it('is a MeridianError with the zone-file code', () => {
    expect(parseError('www A 192.0.2.1').code).toBe('MERIDIAN_ERR_ZONE_FILE');
  });
});

describe('fixture example.org.zone', () => {
  const path = fileURLToPath(new URL('../../fixtures/zones/example.org.zone', import.meta.url));
  const records = parseMasterFile(readFileSync(path, 'utf8'), { file: 'example.org.zone', origin: 'example.org' });
  const find = (name: string, type: ZoneRecord['type']): ZoneRecord[] =>
    records.filter((r) => r.name === name && r.type === type);

  it('has the expected number of records per type', () => {
    const counts: Record<string, number> = {};
    for (const r of records) counts[r.type] = (counts[r.type] ?? 0) + 1;
    expect(records).toHaveLength(26);
    expect(counts).toEqual({ SOA: 1, NS: 4, A: 9, AAAA: 2, CNAME: 1, MX: 2, TXT: 3, SRV: 2, CAA: 2 });
  });

  it('starts with the multi-line SOA', () => {
    expect(records[0]).toEqual({
      name: 'example.org',
      type: 'SOA',
      ttl: 3600,
      data: {
        mname: 'ns1.example.org',
        rname: 'hostmaster.example.org',
        serial: 2024060101,
        refresh: 7200,
        retry: 900,
        expire: 1209600,
        minimum: 300,
      },
    });
  });

  it('reads apex NS, address, mail and policy records', () => {
    expect(find('example.org', 'NS').map((r) => r.data)).toEqual(['ns1.example.org', 'ns2.example.org']);
    expect(find('ns2.example.org', 'AAAA')).toEqual([
      { name: 'ns2.example.org', type: 'AAAA', ttl: 3600, data: '2001:db8:0:53::2' },
    ]);
    expect(find('example.org', 'A')).toEqual([{ name: 'example.org', type: 'A', ttl: 300, data: '192.0.2.10' }]);
    expect(find('example.org', 'AAAA')[0].ttl).toBe(300);
    expect(find('www.example.org', 'CNAME')[0].data).toBe('example.org');
    expect(find('cdn.example.org', 'A')[0].ttl).toBe(60);
    expect(find('example.org', 'MX').map((r) => r.data)).toEqual([
      { preference: 10, exchange: 'mx1.example.org' },
      { preference: 20, exchange: 'mx2.example.org' },
    ]);
    expect(find('_dmarc.example.org', 'TXT')[0].data).toEqual(['v=DMARC1; p=reject; rua=mailto:dmarc@example.org']);
    expect(find('sel._domainkey.example.org', 'TXT')[0].data).toEqual([
      'v=DKIM1; k=rsa; ',
      'p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC',
    ]);
    expect(find('_sip._tcp.example.org', 'SRV').map((r) => r.data)).toEqual([
      { priority: 10, weight: 60, port: 5060, target: 'sip.example.org' },
      { priority: 20, weight: 40, port: 5060, target: 'sip-backup.example.net' },
    ]);
    expect(find('example.org', 'CAA').map((r) => r.data)).toEqual([
      { flags: 0, tag: 'issue', value: 'letsencrypt.org' },
      { flags: 0, tag: 'iodef', value: 'mailto:security@example.org' },
    ]);
  });

  it('reads the wildcard and the delegation with glue', () => {
    expect(find('*.apps.example.org', 'A')[0].data).toBe('192.0.2.99');
    expect(find('lab.example.org', 'NS')).toEqual([
      { name: 'lab.example.org', type: 'NS', ttl: 86400, data: 'ns1.lab.example.org' },
      { name: 'lab.example.org', type: 'NS', ttl: 86400, data: 'ns1.example.net' },
    ]);
    expect(find('ns1.lab.example.org', 'A')).toEqual([
      { name: 'ns1.lab.example.org', type: 'A', ttl: 86400, data: '192.0.2.200' },
    ]);
  });

  it('keeps file order and has no PTR records', () => {
    expect(records.map((r) => r.type).slice(0, 4)).toEqual(['SOA', 'NS', 'NS', 'A']);
    expect(records.at(-1)?.name).toBe('ns1.lab.example.org');
    expect(records.some((r) => r.type === 'PTR')).toBe(false);
  });
});
