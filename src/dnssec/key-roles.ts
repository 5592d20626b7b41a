/**
 * Which keys of a zone do what at a moment: the DNSKEY RRset (published
 * keys), the CDS/CDNSKEY set, and which keys sign which RRsets. A SEP key
 * (flags 257) signs the DNSKEY, CDS and CDNSKEY RRsets; the other RRsets are
 * signed by the signing ZSKs (flags 256) of each algorithm, or by the SEP
 * key itself when its algorithm has no signing ZSK: a combined signing key
 * (CSK), as BIND and Knot decide it.
 */
import { RRType } from './constants.js';
import { isSep } from './dnskey.js';
import { keyStateAt, type KeyTiming } from './key-timing.js';

export interface TimedKey {
  readonly flags: number;
  readonly algorithm: number;
  readonly keyTag: number;
  readonly timing: KeyTiming;
}

const APEX_KEY_TYPES: ReadonlySet<number> = new Set([RRType.DNSKEY, RRType.CDS, RRType.CDNSKEY]);

/** Keys in the DNSKEY RRset at `now`. */
export function publishedKeys<K extends TimedKey>(keys: readonly K[], now: number): K[] {
  return keys.filter((k) => keyStateAt(k.timing, now).published);
}

/**
 * Keys in CDS/CDNSKEY at `now` (RFC 7344): SEP keys between SyncPublish and
 * SyncDelete; when no key of the zone carries Sync dates, every published
 * and signing SEP key (Knot's behaviour, so a zone with one CSK gets its CDS
 * without dnssec-settime).
 */
export function cdsKeys<K extends TimedKey>(keys: readonly K[], now: number): K[] {
  const sep = keys.filter((k) => isSep(k.flags));
  if (sep.some((k) => k.timing.SyncPublish !== undefined)) return sep.filter((k) => keyStateAt(k.timing, now).inCds);
  return sep.filter((k) => {
    const s = keyStateAt(k.timing, now);
    return s.published && s.signing;
  });
}

/** The keys that sign an RRset of `type` at `now` (signing and published: an unpublished key's RRSIGs cannot be verified). */
export function signersFor<K extends TimedKey>(keys: readonly K[], type: number, now: number): K[] {
  const signing = keys.filter((k) => {
    const s = keyStateAt(k.timing, now);
    return s.signing && s.published;
  });
  const sep = signing.filter((k) => isSep(k.flags));
  if (APEX_KEY_TYPES.has(type)) return sep;
  const zsks = signing.filter((k) => !isSep(k.flags));
  const zskAlgorithms = new Set(zsks.map((k) => k.algorithm));
  return [...zsks, ...sep.filter((k) => !zskAlgorithms.has(k.algorithm))];
}

/**
 * Problems that make a key set unusable at `now`, one sentence each: no
 * signing key, a key that signs but is not published (validators could not
 * verify its signatures), a signing algorithm without a SEP key (RFC 6840
 * section 5.11: every algorithm in the DS set must sign the DNSKEY RRset).
 */
export function keySetProblems<K extends TimedKey>(
  keys: readonly K[],
  now: number,
  describe: (k: K) => string,
): string[] {
  const problems: string[] = [];
  const states = keys.map((k) => ({ k, s: keyStateAt(k.timing, now) }));
  if (!states.some(({ s }) => s.signing)) problems.push('no key is signing now (check Activate/Inactive dates)');
  for (const { k, s } of states) {
    if (s.signing && !s.published)
      problems.push(`${describe(k)} is signing but not published: validators could not verify its signatures`);
  }
  const sepAlgorithms = new Set(states.filter(({ k, s }) => s.signing && isSep(k.flags)).map(({ k }) => k.algorithm));
  for (const alg of new Set(states.filter(({ s }) => s.signing).map(({ k }) => k.algorithm))) {
    if (!sepAlgorithms.has(alg))
      problems.push(`algorithm ${alg} signs but has no signing KSK or CSK (flags 257) to sign the DNSKEY RRset`);
  }
  return problems;
}
