/**
 * RRSIG: the labels field (RFC 4034 section 3.1.3), the RDATA layout,
 * signing over canonical RRsets whatever order, case or duplicates the
 * input has, and verification as a validator does it, wildcard expansions
 * (RFC 4035 section 5.3.2) and key mismatches included.
 */
import { describe, expect, it } from 'vitest';
import { RRType, typeCode, typeName } from '../../../src/dnssec/constants.js';
import { generateKeyMaterial, importPrivateKey } from '../../../src/dnssec/crypto-keys.js';
import { dnskeyRdata } from '../../../src/dnssec/dnskey.js';
import { CDNSKEY_DELETE, CDS_DELETE } from '../../../src/dnssec/ds.js';
import { keyTag } from '../../../src/dnssec/key-tag.js';
import { nameWire } from '../../../src/dnssec/name-wire.js';
import { formatDnskey, formatDs } from '../../../src/dnssec/presentation.js';
import { encodeRrsig, parseRrsig, rrsigLabels, signRRset, verifyRrsig } from '../../../src/dnssec/rrsig.js';
import { labels } from './labels.js';

// Ed25519 signatures are deterministic: equal signed data gives equal signatures.
const material = importPrivateKey(15, Buffer.from('ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=', 'base64'));
const dnskey = dnskeyRdata(256, 15, material.publicKeyBytes);
const key = { material, dnskey, keyTag: keyTag(dnskey) };
const zone = nameWire('example.net');
const times = { inception: 1000, expiration: 900_000 };
const a = (...octets: number[][]) => octets.map((o) => Buffer.from(o));

describe('labels field', () => {
  it.each([
    ['', 0],
    ['example.net', 2],
    ['www.example.net', 3],
    ['*.example.net', 2],
    ['*.a.example.net', 3],
    ['a.*.example.net', 4],
  ])('%j has labels %i', (name, n) => {
    expect(rrsigLabels(nameWire(name))).toBe(n);
  });
});

describe('signing', () => {
  it('RDATA fields round-trip; the signer name is written lower-cased', () => {
    const sig = signRRset(
      { owner: nameWire('www.example.net'), type: RRType.A, ttl: 300, rdata: a([192, 0, 2, 1]) },
      key,
      labels('Example', 'NET'),
      times,
    );
    const f = parseRrsig(sig);
    expect(f).toMatchObject({
      typeCovered: 1,
      algorithm: 15,
      labels: 3,
      originalTtl: 300,
      expiration: 900_000,
      inception: 1000,
      keyTag: key.keyTag,
    });
    expect(Buffer.from(f.signer).equals(zone)).toBe(true);
    expect(encodeRrsig(f).equals(sig)).toBe(true);
  });

  it('order, case and duplicates of the input do not change the signature', () => {
    const one = signRRset(
      { owner: nameWire('www.example.net'), type: RRType.A, ttl: 300, rdata: a([192, 0, 2, 1], [192, 0, 2, 2]) },
      key,
      zone,
      times,
    );
    const two = signRRset(
      {
        owner: labels('WWW', 'Example', 'net'),
        type: RRType.A,
        ttl: 300,
        rdata: a([192, 0, 2, 2], [192, 0, 2, 1], [192, 0, 2, 2]),
      },
      key,
      zone,
      times,
    );
    expect(two.equals(one)).toBe(true);
  });
});

describe('verification', () => {
  const star = { owner: nameWire('*.example.net'), type: RRType.A, ttl: 60, rdata: a([192, 0, 2, 9]) };
  const sig = signRRset(star, key, zone, times);

  it('a wildcard signature verifies at the wildcard and at any expansion below it', () => {
    expect(parseRrsig(sig).labels).toBe(2);
    for (const owner of ['*.example.net', 'a.example.net', 'x.y.example.net']) {
      expect(verifyRrsig({ ...star, owner: nameWire(owner) }, sig, dnskey, 5000), owner).toBe('valid');
    }
    expect(verifyRrsig({ ...star, owner: nameWire('example.net') }, sig, dnskey, 5000)).toBe('bad-signature');
  });

  it('names what is wrong: type, key, labels, time, data', () => {
    const plain = { owner: nameWire('www.example.net'), type: RRType.A, ttl: 300, rdata: a([192, 0, 2, 1]) };
    const s = signRRset(plain, key, zone, times);
    expect(verifyRrsig({ ...plain, type: RRType.AAAA }, s, dnskey, 5000)).toBe('type-mismatch');
    const other = dnskeyRdata(256, 15, generateKeyMaterial(15).publicKeyBytes);
    expect(verifyRrsig(plain, s, other, 5000)).toBe('key-mismatch');
    expect(verifyRrsig(plain, s, dnskeyRdata(256 | 0x80, 15, material.publicKeyBytes), 5000)).toBe('key-mismatch'); // revoked
    expect(verifyRrsig({ ...plain, owner: nameWire('example.net') }, s, dnskey, 5000)).toBe('labels-mismatch');
    expect(verifyRrsig(plain, s, dnskey, 999)).toBe('not-yet-valid');
    expect(verifyRrsig(plain, s, dnskey, 900_001)).toBe('expired');
    expect(verifyRrsig({ ...plain, ttl: 301 }, s, dnskey, 5000)).toBe('valid'); // the original TTL is in the RRSIG
    expect(verifyRrsig({ ...plain, rdata: a([192, 0, 2, 3]) }, s, dnskey, 5000)).toBe('bad-signature');
  });
});

describe('small records', () => {
  it('RFC 8078 delete CDS and CDNSKEY', () => {
    expect(formatDs(CDS_DELETE)).toBe('0 0 0 00');
    expect(formatDnskey(CDNSKEY_DELETE)).toBe('0 3 0 AA==');
  });

  it('type mnemonics both ways, RFC 3597 for the rest', () => {
    expect(typeName(RRType.CDNSKEY)).toBe('CDNSKEY');
    expect(typeName(999)).toBe('TYPE999');
    expect(typeCode('nxname')).toBe(128);
    expect(typeCode('TYPE128')).toBe(128);
    expect(typeCode('RRSIG')).toBe(46);
    expect(typeCode('TYPE70000')).toBeUndefined();
    expect(typeCode('BOGUS')).toBeUndefined();
  });
});
