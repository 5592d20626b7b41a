/**
 * NSEC type bitmaps (RFC 4034 section 4.1.2, the section 4.3 example) and
 * compact denial of existence (RFC 9824): the NXNAME code point, the
 * immediate successor as Next Domain Name, the bitmaps for a missing name,
 * NODATA and an empty non-terminal, and the NSEC's RRSIG.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactDenialNsec, NXNAME_TYPES, successorName } from '../../../src/dnssec/compact-denial.js';
import { RRType, typeName } from '../../../src/dnssec/constants.js';
import { generateKeyMaterial } from '../../../src/dnssec/crypto-keys.js';
import { dnskeyRdata } from '../../../src/dnssec/dnskey.js';
import { keyTag } from '../../../src/dnssec/key-tag.js';
import {
  compareCanonicalNames,
  MAX_NAME_WIRE,
  nameWire,
  nameWireLength,
  nameWireToText,
} from '../../../src/dnssec/name-wire.js';
import { formatNsec } from '../../../src/dnssec/presentation.js';
import { parseRrsig, signRRset, verifyRrsig } from '../../../src/dnssec/rrsig.js';
import { decodeTypeBitmap, encodeTypeBitmap } from '../../../src/dnssec/type-bitmap.js';
import { labels } from './labels.js';

describe('type bitmap (RFC 4034 section 4.1.2)', () => {
  it('encodes the RFC 4034 section 4.3 example: A MX RRSIG NSEC TYPE1234', () => {
    const expected = Buffer.from([
      0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
    ]);
    expect(encodeTypeBitmap([1234, RRType.NSEC, RRType.A, RRType.MX, RRType.RRSIG, RRType.A]).equals(expected)).toBe(
      true,
    );
    expect(decodeTypeBitmap(expected)).toEqual([1, 15, 46, 47, 1234]);
    const rdata = Buffer.concat([nameWire('host.example.com'), expected]);
    expect(formatNsec(rdata)).toBe('host.example.com. A MX RRSIG NSEC TYPE1234');
  });

  it('round-trips any set of types, windows ascending, no trailing zero octets (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { maxLength: 40 }), (types) => {
        const field = encodeTypeBitmap(types);
        expect(decodeTypeBitmap(field)).toEqual([...types].sort((a, b) => a - b));
        for (let at = 0; at < field.length; at += 2 + field[at + 1])
          expect(field[at + 2 + field[at + 1] - 1]).not.toBe(0);
      }),
    );
  });

  it('rejects malformed fields', () => {
    expect(() => decodeTypeBitmap(Buffer.from([0, 0]))).toThrow(/length 0/);
    expect(() => decodeTypeBitmap(Buffer.from([0, 33, ...Buffer.alloc(33)]))).toThrow(/length 33/);
    expect(() => decodeTypeBitmap(Buffer.from([1, 1, 0x80, 0, 1, 0x80]))).toThrow(/order/);
    expect(() => decodeTypeBitmap(Buffer.from([0, 4, 0x80]))).toThrow(/truncated/);
    expect(() => encodeTypeBitmap([65536])).toThrow(/range/);
  });
});

describe('compact denial (RFC 9824)', () => {
  it('NXNAME is type 128', () => {
    expect(RRType.NXNAME).toBe(128);
    expect(typeName(128)).toBe('NXNAME');
    expect(NXNAME_TYPES).toEqual([46, 47, 128]);
  });

  it('a missing name: NSEC owned by the query name (lower-cased), next \\000.qname, RRSIG NSEC NXNAME (section 3.1)', () => {
    const nsec = compactDenialNsec(labels('A', 'Example', 'COM'), null);
    expect(nameWireToText(nsec.owner)).toBe('a.example.com.');
    expect(formatNsec(nsec.rdata)).toBe('\\000.a.example.com. RRSIG NSEC NXNAME');
  });

  it('NODATA: the types present plus RRSIG and NSEC (section 3.2); an empty non-terminal has RRSIG NSEC only', () => {
    expect(formatNsec(compactDenialNsec(nameWire('www.example.com'), [RRType.AAAA, RRType.A]).rdata)).toBe(
      '\\000.www.example.com. A AAAA RRSIG NSEC',
    );
    expect(formatNsec(compactDenialNsec(nameWire('ent.example.com'), []).rdata)).toBe(
      '\\000.ent.example.com. RRSIG NSEC',
    );
  });

  it('binary query names from a flood are handled and escaped', () => {
    const nsec = compactDenialNsec(labels([0x00, 0xff, 0x2e], 'example', 'com'), null);
    expect(formatNsec(nsec.rdata)).toBe('\\000.\\000\\255\\..example.com. RRSIG NSEC NXNAME');
  });

  describe('successor name', () => {
    const nameOfLength = (wireLength: number, firstLabel: number) => {
      // first label of `firstLabel` octets, then 'b' labels filling up to wireLength
      const parts: (string | number[])[] = ['a'.repeat(firstLabel)];
      let used = 1 + firstLabel + 1;
      while (wireLength - used > 0) {
        const room = Math.min(63, wireLength - used - 1);
        if (room < 1) throw new Error('cannot build');
        parts.push('b'.repeat(room));
        used += room + 1;
      }
      const w = labels(...parts);
      expect(w.length).toBe(wireLength);
      return w;
    };

    it('is \\000.name while it fits in 255 octets', () => {
      const name = nameOfLength(253, 10);
      const next = successorName(name);
      expect(next.length).toBe(255);
      expect([...next.subarray(0, 2)]).toEqual([1, 0]);
    });

    it('appends a zero octet to the first label when \\000. does not fit', () => {
      for (const length of [254, 255]) {
        const name = nameOfLength(length - 1, 10);
        const longer = Buffer.concat([Buffer.from([11]), name.subarray(1, 11), Buffer.from('c'), name.subarray(11)]);
        expect(longer.length).toBe(length);
        const next = successorName(longer);
        if (length === 254) {
          expect(next.length).toBe(255);
          expect(next[0]).toBe(12);
          expect(next[12]).toBe(0);
        } else {
          expect(next.length).toBeLessThanOrEqual(255);
          // no room for another octet: the label's last octet goes up ('c' -> 'd')
          expect(next.subarray(0, 12).toString('latin1')).toBe(`\x0b${'a'.repeat(10)}d`);
        }
        expect(compareCanonicalNames(next, longer)).toBeGreaterThan(0);
      }
    });

    it('increments a full first label, skipping capitals and dropping 0xff octets', () => {
      const tail = nameOfLength(255 - 64, 62).subarray(0); // 191 octets
      const label = (octets: number[]) => Buffer.concat([Buffer.from([octets.length]), Buffer.from(octets), tail]);
      const full = (last: number[]) => label([...Array(63 - last.length).fill(0x61), ...last]);
      expect(full([0x40]).length).toBe(255);
      const afterAt = successorName(full([0x40]));
      expect(afterAt[63]).toBe(0x5b); // '@' + 1 would be 'A', which sorts as 'a': jump to '['
      const afterFf = successorName(full([0x62, 0xff, 0xff]));
      expect(afterFf[0]).toBe(61);
      expect(afterFf[61]).toBe(0x63);
      for (const n of [full([0x40]), full([0x62, 0xff, 0xff]), full([0x7a])]) {
        const next = successorName(n);
        expect(nameWireLength(next)).toBe(next.length);
        expect(next.length).toBeLessThanOrEqual(MAX_NAME_WIRE);
        expect(compareCanonicalNames(next, n)).toBeGreaterThan(0);
      }
    });

    it('always sorts directly after the name: no name of the test set falls between (property)', () => {
      const label = fc.uint8Array({ minLength: 1, maxLength: 8 });
      const name = fc
        .array(label, { minLength: 1, maxLength: 4 })
        .map((ls) => labels(...ls.map((l) => [...l]), 'example'));
      fc.assert(
        fc.property(name, fc.array(name, { maxLength: 20 }), (q, others) => {
          const next = successorName(q);
          expect(compareCanonicalNames(q, next)).toBeLessThan(0);
          for (const o of others) {
            const between = compareCanonicalNames(q, o) < 0 && compareCanonicalNames(o, next) < 0;
            expect(between).toBe(false);
          }
        }),
      );
    });
  });

  it('the NSEC is signed like any RRset and verifies; its RRSIG labels are the query name labels', () => {
    const material = generateKeyMaterial(13);
    const dnskey = dnskeyRdata(257, 13, material.publicKeyBytes);
    const key = { material, dnskey, keyTag: keyTag(dnskey) };
    const nsec = compactDenialNsec(labels('Nope', 'x', 'example', 'com'), null);
    const rrset = { owner: nsec.owner, type: RRType.NSEC, ttl: 300, rdata: [nsec.rdata] };
    const sig = signRRset(rrset, key, nameWire('example.com'), { inception: 1000, expiration: 5000 });
    expect(parseRrsig(sig).labels).toBe(4);
    expect(verifyRrsig(rrset, sig, dnskey, 3000)).toBe('valid');
    expect(verifyRrsig({ ...rrset, owner: labels('NOPE', 'X', 'Example', 'com') }, sig, dnskey, 3000)).toBe('valid');
  });
});
