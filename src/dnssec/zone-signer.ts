/**
 * One zone's signer: its keys and validity policy, turning an RRset into
 * its RRSIGs (one per signing key, RFC 4035 2.2), the apex key RRsets
 * (DNSKEY, CDS, CDNSKEY: RFC 4034 2, RFC 7344) and the compact-denial NSEC
 * of a name with its RRSIGs. Used at build time for every static RRset and
 * at run time for the answers signed on demand; counts what it does.
 */
import { compactDenialNsec } from './compact-denial.js';
import { RRType, DigestType } from './constants.js';
import { dnskeyRdata } from './dnskey.js';
import { dsRdata } from './ds.js';
import type { ZoneKey } from './key-files.js';
import { cdsKeys, publishedKeys, signersFor } from './key-roles.js';
import type { RRset } from './canonical.js';
import { signRRset } from './rrsig.js';
import { jitterSeed, signatureWindow, type ValidityPolicy } from './validity.js';

/** What a signer has done, read by the metrics. */
export interface SignerCounters {
  signatures: number;
  /** Seconds spent in signing (crypto and canonical form). */
  seconds: number;
}

/** RRSIGs of one RRset and when they must be replaced. */
export interface Signed {
  rrsigs: Buffer[];
  /** Earliest expiration of these RRSIGs, seconds since the epoch. */
  expiration: number;
  refreshAt: number;
}

export class ZoneSigner {
  readonly counters: SignerCounters = { signatures: 0, seconds: 0 };

  constructor(
    /** The zone apex, wire form (the RRSIG signer name). */
    readonly apex: Uint8Array,
    readonly keys: readonly ZoneKey[],
    readonly policy: ValidityPolicy,
  ) {}

  /** The RRSIGs of `rrset` made at `now` (seconds) by every key that signs its type. */
  sign(rrset: RRset, now: number): Signed {
    const t0 = performance.now();
    const window = signatureWindow(now, this.policy, jitterSeed(rrset.owner, rrset.type));
    const rrsigs = signersFor(this.keys, rrset.type, now).map((k) => signRRset(rrset, k, this.apex, window));
    this.counters.signatures += rrsigs.length;
    this.counters.seconds += (performance.now() - t0) / 1000;
    return { rrsigs, expiration: window.expiration, refreshAt: window.refreshAt };
  }

  /** DNSKEY RDATAs: the keys published at `now`. */
  dnskeys(now: number): Buffer[] {
    return publishedKeys(this.keys, now).map((k) => k.dnskey);
  }

  /** CDNSKEY RDATAs (RFC 7344 3.2): the SEP keys in CDS at `now`. */
  cdnskeys(now: number): Buffer[] {
    return cdsKeys(this.keys, now).map((k) => dnskeyRdata(k.flags, k.algorithm, k.dnskey.subarray(4)));
  }

  /** CDS RDATAs (RFC 7344 3.1), SHA-256 digests of the same keys. */
  cds(now: number): Buffer[] {
    return cdsKeys(this.keys, now).map((k) => dsRdata(this.apex, k.dnskey, DigestType.SHA256));
  }

  /** The compact NSEC of `owner` (types present, or null for a name that does not exist) and its RRSIGs. */
  nsec(owner: Uint8Array, types: readonly number[] | null, ttl: number, now: number): { rdata: Buffer } & Signed {
    const nsec = compactDenialNsec(owner, types);
    const signed = this.sign({ owner: nsec.owner, type: RRType.NSEC, ttl, rdata: [nsec.rdata] }, now);
    return { rdata: nsec.rdata, ...signed };
  }
}
