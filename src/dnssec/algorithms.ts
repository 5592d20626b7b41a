/**
 * The DNSSEC signing algorithms Meridian knows, as node:crypto needs them:
 * ECDSAP256SHA256 (13, RFC 6605) and ED25519 (15, RFC 8080) sign and verify;
 * ECDSAP384SHA384 (14, RFC 6605) only verifies, so the RFC 6605 section 6.2
 * example can be checked. The mnemonics are the ones BIND writes in key files.
 */

export interface AlgorithmSpec {
  readonly number: number;
  /** IANA mnemonic, as in `Algorithm: 13 (ECDSAP256SHA256)`. */
  readonly mnemonic: string;
  /** The hash handed to crypto.sign/verify; null for EdDSA, which hashes internally (RFC 8032). */
  readonly hash: 'sha256' | 'sha384' | null;
  /** JWK key type and curve. */
  readonly kty: 'EC' | 'OKP';
  readonly crv: 'P-256' | 'P-384' | 'Ed25519';
  /** Octets of the DNSKEY public key field: x||y for ECDSA (RFC 6605 section 4), the point for Ed25519 (RFC 8080 section 3). */
  readonly publicKeyLength: number;
  /** Octets of the private key in a BIND .private file (the ECDSA scalar d, the Ed25519 seed). */
  readonly privateKeyLength: number;
  /** Octets of a signature: r||s for ECDSA (RFC 6605 section 4), R||S for Ed25519 (RFC 8080 section 4). */
  readonly signatureLength: number;
  /** Meridian signs with this algorithm (otherwise it only verifies). */
  readonly signs: boolean;
}

export const ECDSAP256SHA256 = 13;
export const ECDSAP384SHA384 = 14;
export const ED25519 = 15;

const SPECS: readonly AlgorithmSpec[] = [
  {
    number: ECDSAP256SHA256,
    mnemonic: 'ECDSAP256SHA256',
    hash: 'sha256',
    kty: 'EC',
    crv: 'P-256',
    publicKeyLength: 64,
    privateKeyLength: 32,
    signatureLength: 64,
    signs: true,
  },
  {
    number: ECDSAP384SHA384,
    mnemonic: 'ECDSAP384SHA384',
    hash: 'sha384',
    kty: 'EC',
    crv: 'P-384',
    publicKeyLength: 96,
    privateKeyLength: 48,
    signatureLength: 96,
    signs: false,
  },
  {
    number: ED25519,
    mnemonic: 'ED25519',
    hash: null,
    kty: 'OKP',
    crv: 'Ed25519',
    publicKeyLength: 32,
    privateKeyLength: 32,
    signatureLength: 64,
    signs: true,
  },
];

/** Algorithms Meridian signs with, by number. */
export const SIGNING_ALGORITHMS: readonly number[] = SPECS.filter((s) => s.signs).map((s) => s.number);

/** The spec of algorithm `n`, or undefined when Meridian does not know it. */
export function algorithmSpec(n: number): AlgorithmSpec | undefined {
  return SPECS.find((s) => s.number === n);
}

/** Parse `13`, `ECDSAP256SHA256` or `ed25519` into an algorithm number Meridian signs with, or undefined. */
export function parseSigningAlgorithm(text: string): number | undefined {
  const t = text.trim().toUpperCase();
  const spec = SPECS.find((s) => s.signs && (String(s.number) === t || s.mnemonic === t));
  return spec?.number;
}
