/**
 * RFC 4034 section 6: canonical names, canonical RDATA of the types whose
 * embedded names are lower-cased (and of NSEC, whose names are not, RFC 6840
 * section 5.1), RR ordering and duplicate removal, and the wire form that
 * enters the signed data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRdata, canonicalRdataSet, canonicalRRsetWire } from '../../../src/dnssec/canonical.js';
import { RRType } from '../../../src/dnssec/constants.js';
import {
  compareCanonicalNames,
  isWildcard,
  labelCount,
  lowerNameWire,
  nameWire,
  nameWireLength,
  nameWireToText,
} from '../../../src/dnssec/name-wire.js';
import { labels } from './labels.js';

const mixed = (name: string) => labels(...name.split('.'));

describe('canonical name order (RFC 4034 section 6.1)', () => {
  it('sorts the RFC example names in the RFC order', () => {
    // The example list of RFC 4034 section 6.1, in its canonical order.
    const ordered = [
      labels('example'),
      labels('a', 'example'),
      labels('yljkjljk', 'a', 'example'),
      labels('Z', 'a', 'example'),
      labels('zABC', 'a', 'EXAMPLE'),
      labels('z', 'example'),
      labels([0x01], 'z', 'example'),
      labels('*', 'z', 'example'),
      labels([0xc8], 'z', 'example'),
    ];
    const shuffled = [...ordered].reverse();
    shuffled.sort(compareCanonicalNames);
    expect(shuffled.map(nameWireToText)).toEqual(ordered.map(nameWireToText));
  });

  it('ignores case and is a total order consistent with lower-casing (property)', () => {
    const label = fc.uint8Array({ minLength: 1, maxLength: 6 });
    const name = fc.array(label, { minLength: 0, maxLength: 4 }).map((ls) => labels(...ls.map((l) => [...l])));
    fc.assert(
      fc.property(name, name, (a, b) => {
        const ab = Math.sign(compareCanonicalNames(a, b));
        expect(Math.sign(compareCanonicalNames(b, a))).toBe(-ab || 0);
        expect(Math.sign(compareCanonicalNames(lowerNameWire(a), lowerNameWire(b)))).toBe(ab);
        expect(compareCanonicalNames(a, lowerNameWire(a))).toBe(0);
      }),
    );
  });
});

describe('name helpers', () => {
  it('labels, wildcards, lengths and presentation escapes', () => {
    expect(labelCount(nameWire(''))).toBe(0);
    expect(labelCount(nameWire('www.example.net'))).toBe(3);
    expect(isWildcard(nameWire('*.example.net'))).toBe(true);
    expect(isWildcard(nameWire('a.example.net'))).toBe(false);
    expect(nameWireLength(Buffer.concat([Buffer.from([9, 9]), nameWire('a.b')]), 2)).toBe(5);
    expect(nameWireToText(nameWire(''))).toBe('.');
    expect(nameWireToText(labels([0], 'a.b', 'x y', [0xff], 'ex'))).toBe('\\000.a\\.b.x\\032y.\\255.ex.');
    expect(() => nameWireLength(Buffer.from([0xc0, 0x0c]))).toThrow(/compressed/);
    expect(() => nameWireLength(Buffer.from([3, 0x61]))).toThrow(/truncated/);
  });

  it('lower-cases only A-Z', () => {
    expect(
      lowerNameWire(labels('WwW', [0xc1, 0x5b, 0x40], 'Example')).equals(labels('www', [0xc1, 0x5b, 0x40], 'example')),
    ).toBe(true);
  });
});

describe('canonical RDATA (RFC 4034 section 6.2, RFC 6840 section 5.1)', () => {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  it.each([
    ['NS', RRType.NS, (n: Buffer) => n],
    ['CNAME', RRType.CNAME, (n: Buffer) => n],
    ['PTR', RRType.PTR, (n: Buffer) => n],
    ['MX', RRType.MX, (n: Buffer) => Buffer.concat([u16(10), n])],
    ['SRV', RRType.SRV, (n: Buffer) => Buffer.concat([u16(1), u16(2), u16(5060), n])],
    ['RRSIG', RRType.RRSIG, (n: Buffer) => Buffer.concat([Buffer.alloc(18, 0x41), n, Buffer.from('SIGNATURE')])],
    ['DNAME', 39, (n: Buffer) => n],
    ['KX', 36, (n: Buffer) => Buffer.concat([u16(5), n])],
  ])('%s: the embedded name is lower-cased, nothing else changes', (_name, type, build) => {
    const upper = build(mixed('Mail.EXAMPLE.net'));
    const lower = build(mixed('mail.example.net'));
    expect(Buffer.from(canonicalRdata(type, upper)).equals(lower)).toBe(true);
  });

  it('SOA: both names lower-cased, the counters untouched', () => {
    const counters = Buffer.from([0x41, 0x42, 0x43, 0x44, 0, 0, 0x5a, 0x5a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x41]);
    const soa = Buffer.concat([mixed('NS1.Example.NET'), mixed('HostMaster.Example.NET'), counters]);
    expect(
      Buffer.from(canonicalRdata(RRType.SOA, soa)).equals(
        Buffer.concat([mixed('ns1.example.net'), mixed('hostmaster.example.net'), counters]),
      ),
    ).toBe(true);
  });

  it('NAPTR: the replacement name is lower-cased, the strings before it are not', () => {
    const strings = Buffer.concat([
      Buffer.from([1]),
      Buffer.from('U'),
      Buffer.from([7]),
      Buffer.from('E2U+SIP'),
      Buffer.from([0]),
    ]);
    const naptr = (n: Buffer) => Buffer.concat([u16(100), u16(10), strings, n]);
    expect(
      Buffer.from(canonicalRdata(35, naptr(mixed('SIP.Example.NET')))).equals(naptr(mixed('sip.example.net'))),
    ).toBe(true);
  });

  it('NSEC, TXT, A and CAA stay as they are', () => {
    const nsec = Buffer.concat([mixed('Next.Example.NET'), Buffer.from([0, 1, 0x40])]);
    expect(canonicalRdata(RRType.NSEC, nsec)).toBe(nsec);
    const txt = Buffer.from('\x05HeLLo', 'latin1');
    expect(canonicalRdata(RRType.TXT, txt)).toBe(txt);
  });

  it('truncated RDATA of a listed type is an error', () => {
    expect(() => canonicalRdata(RRType.MX, Buffer.from([0, 10, 4, 0x61]))).toThrow(/truncated/);
    expect(() => canonicalRdata(RRType.SRV, Buffer.from([0, 1]))).toThrow();
  });
});

describe('canonical RRset (RFC 4034 sections 6.3 and 3.1.8.1)', () => {
  it('sorts by RDATA as octet strings, a prefix first, and removes duplicates (after lower-casing)', () => {
    const set = [
      Buffer.from([2, 0]),
      Buffer.from([1, 255]),
      Buffer.from([1]),
      Buffer.from([2, 0]),
      Buffer.from([1, 0]),
    ];
    expect(canonicalRdataSet(RRType.A, set).map((b) => [...b])).toEqual([[1], [1, 0], [1, 255], [2, 0]]);
    const a = Buffer.concat([Buffer.from([0, 10]), mixed('MAIL.example.net')]);
    const b = Buffer.concat([Buffer.from([0, 10]), mixed('mail.example.net')]);
    expect(canonicalRdataSet(RRType.MX, [a, b])).toHaveLength(1);
  });

  it('writes owner (lower-cased), type, class, original TTL, RDLENGTH, RDATA per record', () => {
    const wire = canonicalRRsetWire(
      {
        owner: mixed('WWW.example.NET'),
        type: RRType.A,
        ttl: 60,
        rdata: [Buffer.from([192, 0, 2, 2]), Buffer.from([192, 0, 2, 1])],
      },
      3600,
    );
    const owner = nameWire('www.example.net');
    const rr = (last: number) =>
      Buffer.concat([owner, Buffer.from([0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, last])]);
    expect(wire.equals(Buffer.concat([rr(1), rr(2)]))).toBe(true);
  });
});
