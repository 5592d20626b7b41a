/**
 * Key material with node:crypto: fixed-length DNSKEY public keys and BIND
 * private keys whatever leading zero octets a key has, round trips, bad
 * keys refused, and signatures in the DNSSEC encodings (r||s, R||S).
 */
import { describe, expect, it } from 'vitest';
import { algorithmSpec, parseSigningAlgorithm, SIGNING_ALGORITHMS } from '../../../src/dnssec/algorithms.js';
import {
  exportPrivateKey,
  generateKeyMaterial,
  importPrivateKey,
  importPublicKey,
  signData,
  verifyData,
} from '../../../src/dnssec/crypto-keys.js';

describe('algorithms', () => {
  it('signs with 13 and 15, verifies 14 too, parses names and numbers', () => {
    expect(SIGNING_ALGORITHMS).toEqual([13, 15]);
    expect(algorithmSpec(14)?.signs).toBe(false);
    expect(algorithmSpec(8)).toBeUndefined();
    expect(parseSigningAlgorithm('ecdsap256sha256')).toBe(13);
    expect(parseSigningAlgorithm('15')).toBe(15);
    expect(parseSigningAlgorithm('ED25519')).toBe(15);
    expect(parseSigningAlgorithm('ECDSAP384SHA384')).toBeUndefined();
    expect(parseSigningAlgorithm('RSASHA256')).toBeUndefined();
  });
});

describe.each(SIGNING_ALGORITHMS)('algorithm %i key material', (algorithm) => {
  const spec = algorithmSpec(algorithm)!;

  it('public and private keys always have their full length (300 keys, so leading zero octets occur)', () => {
    for (let i = 0; i < 300; i++) {
      const m = generateKeyMaterial(algorithm);
      expect(m.publicKeyBytes.length).toBe(spec.publicKeyLength);
      const raw = exportPrivateKey(m);
      expect(raw.length).toBe(spec.privateKeyLength);
      if (i % 50 === 0) expect(importPrivateKey(algorithm, raw).publicKeyBytes.equals(m.publicKeyBytes)).toBe(true);
    }
  });

  it('signatures have the DNSSEC length and verify with the public key from the DNSKEY field only', () => {
    const m = generateKeyMaterial(algorithm);
    const data = Buffer.from('signed data');
    const sig = signData(algorithm, m.privateKey, data);
    expect(sig.length).toBe(spec.signatureLength);
    const pub = importPublicKey(algorithm, m.publicKeyBytes);
    expect(verifyData(algorithm, pub, data, sig)).toBe(true);
    expect(verifyData(algorithm, pub, Buffer.from('signed datA'), sig)).toBe(false);
    expect(verifyData(algorithm, pub, data, sig.subarray(1))).toBe(false);
  });

  it('refuses keys of the wrong length or outside the group', () => {
    expect(() => importPrivateKey(algorithm, Buffer.alloc(spec.privateKeyLength + 1, 1))).toThrow(/must be 32 octets/);
    expect(() => importPublicKey(algorithm, Buffer.alloc(spec.publicKeyLength - 1, 1))).toThrow(/public key must be/);
    if (spec.kty === 'EC') {
      expect(() => importPrivateKey(algorithm, Buffer.alloc(32, 0))).toThrow();
      expect(() => importPrivateKey(algorithm, Buffer.alloc(32, 0xff))).toThrow();
      expect(() => importPublicKey(algorithm, Buffer.alloc(64, 1))).toThrow(); // not a point on P-256
    }
  });
});

it('an ECDSA scalar written without its leading zero octets is padded back', () => {
  const withZero = Buffer.concat([Buffer.from([0]), Buffer.alloc(31, 7)]);
  expect(
    importPrivateKey(13, withZero.subarray(1)).publicKeyBytes.equals(importPrivateKey(13, withZero).publicKeyBytes),
  ).toBe(true);
});
