/**
 * Key material with node:crypto: private keys from the raw octets a BIND
 * .private file holds (the ECDSA scalar, the Ed25519 seed), public keys from
 * DNSKEY public key fields, fresh key pairs, and the sign/verify primitives
 * with DNSSEC's signature encodings (ECDSA r||s, RFC 6605 section 4, which
 * node calls 'ieee-p1363'; Ed25519 R||S, RFC 8080 section 4).
 */
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { algorithmSpec, type AlgorithmSpec } from './algorithms.js';

/** A private key with its public half, ready to sign. */
export interface KeyMaterial {
  readonly algorithm: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The DNSKEY public key field. */
  readonly publicKeyBytes: Buffer;
}

/** PKCS #8 prefix of an Ed25519 private key: the 32-octet seed follows (RFC 8410 section 7). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const ECDH_CURVES: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' };

function spec(algorithm: number): AlgorithmSpec {
  const s = algorithmSpec(algorithm);
  if (s === undefined) throw new Error(`unsupported DNSSEC algorithm ${algorithm}`);
  return s;
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/**
 * Key material from the raw private key octets of a BIND .private file.
 * @throws Error for a wrong length or a value that is not a valid key.
 */
export function importPrivateKey(algorithm: number, raw: Uint8Array): KeyMaterial {
  const s = spec(algorithm);
  let bytes = Buffer.from(raw);
  // An ECDSA scalar written by a tool that strips leading zero octets is shorter.
  if (s.kty === 'EC' && bytes.length < s.privateKeyLength) {
    bytes = Buffer.concat([Buffer.alloc(s.privateKeyLength - bytes.length), bytes]);
  }
  if (bytes.length !== s.privateKeyLength) {
    throw new Error(`${s.mnemonic} private key must be ${s.privateKeyLength} octets, not ${raw.length}`);
  }
  let privateKey: KeyObject;
  if (s.kty === 'EC') {
    const ecdh = createECDH(ECDH_CURVES[s.crv]);
    ecdh.setPrivateKey(bytes); // throws for 0 or a scalar not below the group order
    const point = ecdh.getPublicKey(); // 0x04 || x || y
    const half = s.publicKeyLength / 2;
    privateKey = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'EC',
        crv: s.crv,
        d: b64url(bytes),
        x: b64url(point.subarray(1, 1 + half)),
        y: b64url(point.subarray(1 + half)),
      },
    });
  } else {
    privateKey = createPrivateKey({ format: 'der', type: 'pkcs8', key: Buffer.concat([ED25519_PKCS8_PREFIX, bytes]) });
  }
  return fromPrivateKey(algorithm, privateKey);
}

/** A new random key pair. */
export function generateKeyMaterial(algorithm: number): KeyMaterial {
  const s = spec(algorithm);
  const pair = s.kty === 'EC' ? generateKeyPairSync('ec', { namedCurve: s.crv }) : generateKeyPairSync('ed25519');
  return fromPrivateKey(algorithm, pair.privateKey);
}

function fromPrivateKey(algorithm: number, privateKey: KeyObject): KeyMaterial {
  const publicKey = createPublicKey(privateKey);
  return { algorithm, privateKey, publicKey, publicKeyBytes: publicKeyField(algorithm, publicKey) };
}

/** The DNSKEY public key field of a public key (x||y for ECDSA, the point for Ed25519). */
function publicKeyField(algorithm: number, publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  if (spec(algorithm).kty === 'OKP') return x;
  return Buffer.concat([x, Buffer.from(jwk.y ?? '', 'base64url')]);
}

/** The raw private key octets as a BIND .private file holds them. */
export function exportPrivateKey(material: KeyMaterial): Buffer {
  const d = Buffer.from(material.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  const want = spec(material.algorithm).privateKeyLength;
  return d.length < want ? Buffer.concat([Buffer.alloc(want - d.length), d]) : d;
}

/**
 * A public key from a DNSKEY public key field.
 * @throws Error for a wrong length or a point that is not on the curve.
 */
export function importPublicKey(algorithm: number, field: Uint8Array): KeyObject {
  const s = spec(algorithm);
  if (field.length !== s.publicKeyLength) {
    throw new Error(`${s.mnemonic} public key must be ${s.publicKeyLength} octets, not ${field.length}`);
  }
  if (s.kty === 'OKP') return createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: s.crv, x: b64url(field) } });
  const half = s.publicKeyLength / 2;
  return createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: s.crv, x: b64url(field.subarray(0, half)), y: b64url(field.subarray(half)) },
  });
}

/** Sign `data` in the DNSSEC encoding of the algorithm. */
export function signData(algorithm: number, privateKey: KeyObject, data: Uint8Array): Buffer {
  const s = spec(algorithm);
  return s.kty === 'EC'
    ? sign(s.hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
    : sign(null, data, privateKey);
}

/** Verify a DNSSEC-encoded signature over `data`; false for a wrong length or a bad signature. */
export function verifyData(algorithm: number, publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const s = spec(algorithm);
  if (signature.length !== s.signatureLength) return false;
  return s.kty === 'EC'
    ? verify(s.hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
    : verify(null, data, publicKey, signature);
}
