/**
 * Known vectors from the RFCs: key tags, DS digests, public keys derived
 * from the example private keys, and the example signatures (RFC 4034
 * section 5.4, RFC 6605 section 6, RFC 8080 section 6 with erratum 4935).
 */
import { describe, expect, it } from 'vitest';
import { DigestType, RRType } from '../../../src/dnssec/constants.js';
import { importPrivateKey, signData } from '../../../src/dnssec/crypto-keys.js';
import { dnskeyRdata } from '../../../src/dnssec/dnskey.js';
import { dsRdata } from '../../../src/dnssec/ds.js';
import { keyTag } from '../../../src/dnssec/key-tag.js';
import { nameWire } from '../../../src/dnssec/name-wire.js';
import { formatDs, formatRrsig } from '../../../src/dnssec/presentation.js';
import { encodeRrsig, rrsigSignedData, signRRset, verifyRrsig } from '../../../src/dnssec/rrsig.js';
import { parseDnssecTime } from '../../../src/dnssec/time.js';

const b64 = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'base64');
const mx = (preference: number, name: string) =>
  Buffer.concat([Buffer.from([preference >> 8, preference & 0xff]), nameWire(name)]);

describe('RFC 4034 section 5.4: DS example', () => {
  const dnskey = dnskeyRdata(
    256,
    5,
    b64(
      `AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==`,
    ),
  );

  it('key tag 60485', () => {
    expect(keyTag(dnskey)).toBe(60485);
  });

  it('DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118 (owner case does not matter)', () => {
    expect(formatDs(dsRdata(nameWire('dskey.example.com'), dnskey, DigestType.SHA1))).toBe(
      '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
    );
    const upper = Buffer.from(nameWire('dskey.example.com').toString('latin1').toUpperCase(), 'latin1');
    expect(formatDs(dsRdata(upper, dnskey, DigestType.SHA1))).toBe(
      '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
    );
  });
});

describe('RFC 6605 section 6.1: ECDSA P-256', () => {
  const material = importPrivateKey(13, b64('GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ='));
  const dnskey = dnskeyRdata(257, 13, material.publicKeyBytes);
  const rrset = { owner: nameWire('www.example.net'), type: RRType.A, ttl: 3600, rdata: [Buffer.from([192, 0, 2, 1])] };
  const published = b64('qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==');
  const expiration = parseDnssecTime('20100909100439');
  const inception = parseDnssecTime('20100812100439');
  const rrsig = encodeRrsig({
    typeCovered: RRType.A,
    algorithm: 13,
    labels: 3,
    originalTtl: 3600,
    expiration,
    inception,
    keyTag: 55648,
    signer: nameWire('example.net'),
    signature: published,
  });

  it('the private key gives the example DNSKEY public key', () => {
    expect(material.publicKeyBytes.toString('base64')).toBe(
      'GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==',
    );
  });

  it('key tag 55648 and DS 55648 13 2 b4c8c1fe...', () => {
    expect(keyTag(dnskey)).toBe(55648);
    expect(formatDs(dsRdata(nameWire('example.net'), dnskey, DigestType.SHA256))).toBe(
      '55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17',
    );
  });

  it('the example RRSIG verifies inside its validity window and not outside', () => {
    expect(formatRrsig(rrsig)).toBe(
      `A 13 3 3600 20100909100439 20100812100439 55648 example.net. ${published.toString('base64')}`,
    );
    expect(verifyRrsig(rrset, rrsig, dnskey, parseDnssecTime('20100820000000'))).toBe('valid');
    expect(verifyRrsig(rrset, rrsig, dnskey, parseDnssecTime('20100910000000'))).toBe('expired');
    expect(verifyRrsig(rrset, rrsig, dnskey, parseDnssecTime('20100801000000'))).toBe('not-yet-valid');
    const other = { ...rrset, rdata: [Buffer.from([192, 0, 2, 2])] };
    expect(verifyRrsig(other, rrsig, dnskey, parseDnssecTime('20100820000000'))).toBe('bad-signature');
  });

  it('our signature over the same RRset (random nonce) verifies with the example key', () => {
    const ours = signRRset(rrset, { material, dnskey, keyTag: 55648 }, nameWire('example.net'), {
      inception,
      expiration,
    });
    expect(ours.subarray(0, 18 + 13)).toEqual(rrsig.subarray(0, 18 + 13));
    expect(ours.length).toBe(rrsig.length);
    expect(verifyRrsig(rrset, ours, dnskey, parseDnssecTime('20100820000000'))).toBe('valid');
  });
});

describe('RFC 6605 section 6.2: ECDSA P-384 (verify only)', () => {
  const dnskey = dnskeyRdata(
    257,
    14,
    b64(
      'xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40',
    ),
  );

  it('key tag 10771 and the SHA-384 DS', () => {
    expect(keyTag(dnskey)).toBe(10771);
    expect(formatDs(dsRdata(nameWire('example.net'), dnskey, DigestType.SHA384)).toLowerCase()).toBe(
      '10771 14 4 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6',
    );
  });

  it('the example RRSIG verifies', () => {
    const rrset = {
      owner: nameWire('www.example.net'),
      type: RRType.A,
      ttl: 3600,
      rdata: [Buffer.from([192, 0, 2, 1])],
    };
    const rrsig = encodeRrsig({
      typeCovered: RRType.A,
      algorithm: 14,
      labels: 3,
      originalTtl: 3600,
      expiration: parseDnssecTime('20100909102025'),
      inception: parseDnssecTime('20100812102025'),
      keyTag: 10771,
      signer: nameWire('example.net'),
      signature: b64(
        '/L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm',
      ),
    });
    expect(verifyRrsig(rrset, rrsig, dnskey, parseDnssecTime('20100820000000'))).toBe('valid');
  });
});

describe('RFC 8080 section 6.1: Ed25519 (deterministic signatures)', () => {
  // Erratum 4935: the published RRSIGs were made with labels 3 (the root counted);
  // the corrected ones with labels 2. Ed25519 is deterministic, so we must reproduce both.
  const cases = [
    {
      priv: 'ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=',
      pub: 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=',
      tag: 3613,
      ds: '3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b',
      published: 'Edk+IB9KNNWg0HAjm7FazXyrd5m3Rk8zNZbvNpAcM+eysqcUOMIjWoevFkjH5GaMWeG96GUVZu6ECKOQmemHDg==',
      corrected: 'oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==',
    },
    {
      priv: 'DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=',
      pub: 'zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=',
      tag: 35217,
      ds: '401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c',
      published: '5LL2obmzdqjWI+Xto5eP5adXt/T5tMhasWvwcyW4L3SzfcRawOle9bodhC+oip9ayUGjY9T/rL4rN3bOuESGDA==',
      corrected: 'zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==',
    },
  ];
  const owner = nameWire('example.com');
  const rrset = { owner, type: RRType.MX, ttl: 3600, rdata: [mx(10, 'mail.example.com')] };
  const times = { inception: 1438207200, expiration: 1440021600 };

  it.each(cases)('key $tag: public key, tag and DS', (c) => {
    const material = importPrivateKey(15, b64(c.priv));
    expect(material.publicKeyBytes.toString('base64')).toBe(c.pub);
    const dnskey = dnskeyRdata(257, 15, material.publicKeyBytes);
    expect(keyTag(dnskey)).toBe(c.tag);
    expect(formatDs(dsRdata(owner, dnskey, DigestType.SHA256))).toBe(`${c.tag} 15 2 ${c.ds.toUpperCase()}`);
  });

  it.each(cases)('key $tag: our RRSIG is the corrected example byte for byte, and verifies', (c) => {
    const material = importPrivateKey(15, b64(c.priv));
    const dnskey = dnskeyRdata(257, 15, material.publicKeyBytes);
    const ours = signRRset(rrset, { material, dnskey, keyTag: c.tag }, owner, times);
    expect(formatRrsig(ours)).toBe(`MX 15 2 3600 20150819220000 20150729220000 ${c.tag} example.com. ${c.corrected}`);
    expect(verifyRrsig(rrset, ours, dnskey, 1439000000)).toBe('valid');
  });

  it.each(cases)(
    'key $tag: the published signature is the one made over labels 3 (the erratum), which validators reject',
    (c) => {
      const material = importPrivateKey(15, b64(c.priv));
      const dnskey = dnskeyRdata(257, 15, material.publicKeyBytes);
      const fields = {
        typeCovered: RRType.MX,
        algorithm: 15,
        labels: 3,
        originalTtl: 3600,
        ...times,
        keyTag: c.tag,
        signer: owner,
      };
      expect(signData(15, material.privateKey, rrsigSignedData(fields, rrset)).toString('base64')).toBe(c.published);
      const published = encodeRrsig({ ...fields, signature: b64(c.published) });
      expect(verifyRrsig(rrset, published, dnskey, 1439000000)).toBe('labels-mismatch');
    },
  );
});
