/**
 * Response rate limiting (RRL) for UDP answers, with the semantics BIND and
 * Knot operators know: a bucket per (client network, response class), each
 * holding a balance of responses that earns `rate` per second up to `rate`
 * (one second of burst) and pays one per response. A response that finds the
 * balance negative is limited: dropped, or every `slip`-th one sent truncated.
 * The balance can sink to -window x rate, so a flood that stops stays limited
 * for up to `window` seconds, and a bucket idle for longer than the window
 * starts afresh (BIND's accounting, lib/dns/rrl.c, to the response).
 *
 * Memory is fixed at construction: a power-of-two table of buckets in typed
 * arrays, open addressing with a probe window of 8 slots. A new bucket takes
 * an empty slot, else one whose balance has fully recovered (it is then
 * indistinguishable from a fresh bucket, so nothing is lost), else the least
 * recently used slot of the window (counted as an eviction: the table is too
 * small for the load). Millions of spoofed sources therefore cost no memory,
 * and a bucket under attack, being the most recently used, is not evicted.
 *
 * The check allocates nothing and builds no string: the key is mixed from the
 * source address words cut to the prefix, the kind, the qtype and a 32-bit
 * hash of the class name (the zone lookup's own suffix hash, or computed here
 * from the wire bytes, case folded). The time is a monotonic millisecond
 * count passed in by the caller, so the accounting is testable without clocks.
 * One instance per process (listeners on one event loop share it).
 */
import { webcrypto } from 'node:crypto';
import { isV4MappedAt } from '../net/ip.js';
import { hashLabel, ROOT_HASH } from '../zone/name-table.js';
import { KIND_USES_NAME, KIND_USES_QTYPE, RrlAction, type ResponseKindCode, type RrlActionCode } from './kinds.js';
import { PrefixSet } from './prefix-set.js';
import { checkSettings, ratesByKind, RRL_DEFAULTS, type RrlSettings } from './settings.js';

/** Indexes into `stats` (totals since construction; folded into metrics at scrape time). */
export const RrlStat = {
  /** Decisions (in log-only mode: what would have been done). */
  PASS: 0,
  DROP: 1,
  SLIP: 2,
  /** Not considered: the source is in an exempt prefix. */
  EXEMPT_PREFIX: 3,
  /** Not considered: the query carried a valid server cookie (counted by the caller through countCookieExempt). */
  EXEMPT_COOKIE: 4,
  /** A bucket took an empty slot. */
  INSERTED: 5,
  /** A bucket took the slot of a recovered (idle) bucket. */
  REUSED: 6,
  /** A bucket took the slot of a live one: the table is too small for the load. */
  EVICTED: 7,
} as const;
export const RRL_STAT_COUNT = 8;

/** Slots probed from a key's home slot. */
export const PROBE_WINDOW = 8;
/** Names of recently limited buckets kept for the admin view. */
const NAME_RING = 64;
const NAME_MAX = 255;
const MAX_LABELS = 128;

/** Internal view of one bucket for the admin listing (see busiest.ts). */
export interface RawBucket {
  family: 4 | 6;
  network: Uint8Array;
  prefixLength: number;
  kind: ResponseKindCode;
  qtype: number | null;
  /** Wire-format class name when it was recorded (buckets that entered limiting recently), else null. */
  name: Uint8Array | null;
  /** The class name's hash (0 for kinds without a name): with network, kind and qtype it names the bucket in every process. */
  nameHash: number;
  responses: number;
  limited: number;
  /** Balance now, in responses (negative: being limited). */
  balance: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export class ResponseRateLimiter {
  /** Number of buckets (fixed). */
  readonly capacity: number;
  readonly logOnly: boolean;
  readonly stats = new Float64Array(RRL_STAT_COUNT);
  /** What the last check decided, before log-only mode turned a DROP or SLIP into PASS. */
  lastVerdict: RrlActionCode = RrlAction.PASS;

  private readonly settings: RrlSettings;
  private readonly mask: number;
  private readonly seedA: number;
  private readonly seedB: number;
  /** Responses per second by kind; the same number is the credit per millisecond in milli-responses. */
  private readonly rates: Float64Array;
  private readonly windowMs: number;
  private readonly slip: number;
  private readonly v4Mask: number;
  private readonly v6Masks: Int32Array;
  private readonly exempt: PrefixSet;

  // The buckets, one entry per slot. Balances are in milli-responses.
  private readonly keyA: Int32Array;
  private readonly keyB: Int32Array;
  /** 0 = empty slot, else kind + 1. */
  private readonly kinds: Uint8Array;
  private readonly families: Uint8Array;
  private readonly qtypes: Uint16Array;
  private readonly seen: Float64Array;
  private readonly created: Float64Array;
  private readonly balances: Float64Array;
  private readonly slipCounts: Uint8Array;
  private readonly hits: Uint32Array;
  private readonly limitedCounts: Uint32Array;
  /** The client network, 16 bytes per slot (for the admin view). */
  private readonly networks: Uint8Array;
  /** Index into the name ring, or -1. */
  private readonly nameRefs: Int16Array;
  /** The class name's hash (the keys are seeded per process; this is not, so workers' views can be merged). */
  private readonly nameHashes: Int32Array;

  private readonly ringNames = new Uint8Array(NAME_RING * NAME_MAX);
  private readonly ringLengths = new Uint16Array(NAME_RING);
  private readonly ringOwners = new Int32Array(NAME_RING).fill(-1);
  private readonly ringKeys = new Int32Array(NAME_RING);
  private ringNext = 0;
  private readonly labelScratch = new Int32Array(MAX_LABELS);

  /** `seeds` fixes the two hash keys (tests); by default they are random per instance. */
  constructor(settings: Partial<RrlSettings> = {}, seeds?: readonly [number, number]) {
    const s: RrlSettings = { ...RRL_DEFAULTS, ...settings };
    checkSettings(s);
    this.settings = s;
    let cap = 1024;
    while (cap < s.tableSize) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    const rnd = seeds ?? webcrypto.getRandomValues(new Int32Array(2));
    this.seedA = rnd[0] | 0;
    this.seedB = rnd[1] | 0;
    this.rates = ratesByKind(s);
    this.windowMs = s.windowSeconds * 1000;
    this.slip = s.slip;
    this.logOnly = s.logOnly;
    this.v4Mask = prefixWord(s.ipv4PrefixLength, 0);
    this.v6Masks = Int32Array.from([0, 1, 2, 3], (w) => prefixWord(s.ipv6PrefixLength, w));
    this.exempt = new PrefixSet(s.exempt);
    this.keyA = new Int32Array(cap);
    this.keyB = new Int32Array(cap);
    this.kinds = new Uint8Array(cap);
    this.families = new Uint8Array(cap);
    this.qtypes = new Uint16Array(cap);
    this.seen = new Float64Array(cap);
    this.created = new Float64Array(cap);
    this.balances = new Float64Array(cap);
    this.slipCounts = new Uint8Array(cap);
    this.hits = new Uint32Array(cap);
    this.limitedCounts = new Uint32Array(cap);
    this.networks = new Uint8Array(cap * 16);
    this.nameRefs = new Int16Array(cap).fill(-1);
    this.nameHashes = new Int32Array(cap);
  }

  /** Bytes held by the table (fixed at construction). */
  get tableBytes(): number {
    return this.capacity * (4 + 4 + 1 + 1 + 2 + 8 + 8 + 8 + 1 + 4 + 4 + 16 + 2 + 4) + this.ringNames.length;
  }

  /**
   * Decide for one UDP response about to be sent to `addr` (`family` 4 or 6,
   * address bytes at `addr[addrOff]`, IPv4-mapped IPv6 taken as IPv4). The
   * class name is the wire-format name at `name[nameOff]` (the qname, zone apex,
   * delegation point or closest encloser for the kind; ignored for ERROR and
   * may be null then). Returns the action to take (always PASS in log-only mode).
   */
  check(
    nowMs: number,
    family: number,
    addr: Uint8Array,
    addrOff: number,
    kind: ResponseKindCode,
    qtype: number,
    name: Uint8Array | null,
    nameOff: number,
  ): RrlActionCode {
    const nameHash = KIND_USES_NAME[kind] && name !== null ? this.nameHash(name, nameOff) : 0;
    return this.checkHashed(nowMs, family, addr, addrOff, kind, qtype, nameHash, name, nameOff);
  }

  /**
   * check() with the class name's hash already known: the zone lookup computes
   * the hash of every suffix of the qname (zone/name-table hashLabel from the
   * root), the same value check() computes, so the query path passes it and
   * the name is not read again. `name` is only read when the bucket starts
   * being limited, to show it in the admin view (null: not shown).
   */
  checkHashed(
    nowMs: number,
    family: number,
    addr: Uint8Array,
    addrOff: number,
    kind: ResponseKindCode,
    qtype: number,
    nameHash: number,
    name: Uint8Array | null,
    nameOff: number,
  ): RrlActionCode {
    if (family === 6 && isV4MappedAt(addr, addrOff)) {
      family = 4;
      addrOff += 12;
    }
    if (this.exempt.size !== 0 && this.exempt.contains(family, addr, addrOff))
      return this.passed(RrlStat.EXEMPT_PREFIX);
    const rate = this.rates[kind];
    if (rate === 0) return this.passed(RrlStat.PASS);

    // The key: (network, kind, family, qtype if the kind uses it, name hash if it uses one),
    // mixed into two independently seeded 32-bit lanes: lane A picks the home slot, A and B
    // together identify the bucket.
    const tag = (kind << 24) | (family << 16) | (KIND_USES_QTYPE[kind] ? qtype & 0xffff : 0);
    const nh = KIND_USES_NAME[kind] ? nameHash | 0 : 0;
    let w0: number;
    let w1 = 0;
    let w2 = 0;
    let w3 = 0;
    let a = mix(this.seedA, tag);
    let b = mix(this.seedB, tag);
    if (family === 4) {
      w0 = be32(addr, addrOff) & this.v4Mask;
      a = mix(a, w0);
      b = mix(b, w0);
    } else {
      const m = this.v6Masks;
      w0 = be32(addr, addrOff) & m[0];
      w1 = be32(addr, addrOff + 4) & m[1];
      w2 = be32(addr, addrOff + 8) & m[2];
      w3 = be32(addr, addrOff + 12) & m[3];
      a = mix(mix(mix(mix(a, w0), w1), w2), w3);
      b = mix(mix(mix(mix(b, w0), w1), w2), w3);
    }
    a = fmix(mix(a, nh));
    b = fmix(mix(b, nh));

    const slot = this.findOrClaim(a, b, nowMs, kind, family, qtype, nh, w0, w1, w2, w3);

    // Credit the time since the last visit (BIND debit_rrl_entry), then debit this response.
    const max = rate * 1000;
    let balance = this.balances[slot];
    const elapsed = nowMs - this.seen[slot];
    if (elapsed > 0) {
      if (elapsed > this.windowMs) {
        balance = max;
        this.slipCounts[slot] = 0;
      } else {
        balance += elapsed * rate;
        if (balance >= max) {
          balance = max;
          this.slipCounts[slot] = 0;
        }
      }
      this.seen[slot] = nowMs;
    }
    if (this.hits[slot] !== 0xffffffff) this.hits[slot]++;
    balance -= 1000;
    if (balance >= 0) {
      this.balances[slot] = balance;
      return this.passed(RrlStat.PASS);
    }
    // Limited. The first limited response of an episode records the name for the admin view.
    if (balance + 1000 >= 0 && name !== null && KIND_USES_NAME[kind]) this.recordName(slot, name, nameOff);
    const floor = -this.windowMs * rate;
    this.balances[slot] = balance < floor ? floor : balance;
    if (this.limitedCounts[slot] !== 0xffffffff) this.limitedCounts[slot]++;

    // Slip: the first limited response of a run is sent truncated, then every slip-th one.
    let verdict: RrlActionCode = RrlAction.DROP;
    if (this.slip !== 0) {
      const count = this.slipCounts[slot];
      if (count === 0) verdict = RrlAction.SLIP;
      this.slipCounts[slot] = count + 1 >= this.slip ? 0 : count + 1;
    }
    this.stats[verdict]++;
    this.lastVerdict = verdict;
    return this.logOnly ? RrlAction.PASS : verdict;
  }

  private passed(stat: number): RrlActionCode {
    this.stats[stat]++;
    this.lastVerdict = RrlAction.PASS;
    return RrlAction.PASS;
  }

  /** Count a response not considered because its query carried a valid server cookie. */
  countCookieExempt(): void {
    this.stats[RrlStat.EXEMPT_COOKIE]++;
  }

  /** The hash check() uses for a wire-format name at `buf[off]` (equal to the zone lookup's suffix hash). */
  nameHash(buf: Uint8Array, off: number): number {
    const starts = this.labelScratch;
    const end = buf.length;
    let n = 0;
    let p = off;
    while (p < end && n < MAX_LABELS) {
      const len = buf[p];
      if (len === 0 || len > 63 || p + 1 + len > end) break;
      starts[n++] = p;
      p += 1 + len;
    }
    let h = ROOT_HASH;
    for (let i = n - 1; i >= 0; i--) h = hashLabel(h, buf, starts[i]);
    return h;
  }

  /** Slots in use (live or idle buckets). O(capacity): for tests and the admin view. */
  occupancy(): number {
    let n = 0;
    for (let i = 0; i < this.capacity; i++) if (this.kinds[i] !== 0) n++;
    return n;
  }

  /** Buckets seen within the last window, for the admin view (allocates; never on the query path). */
  activeBuckets(nowMs: number): RawBucket[] {
    const out: RawBucket[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const k = this.kinds[i];
      if (k === 0 || nowMs - this.seen[i] > this.windowMs) continue;
      const kind = (k - 1) as ResponseKindCode;
      const rate = this.rates[kind];
      const elapsed = Math.max(0, nowMs - this.seen[i]);
      const balance = Math.min(rate * 1000, this.balances[i] + elapsed * rate) / 1000;
      const family = this.families[i] as 4 | 6;
      const ref = this.nameRefs[i];
      const named = ref >= 0 && this.ringOwners[ref] === i && this.ringKeys[ref] === this.keyA[i];
      out.push({
        family,
        network: this.networks.slice(i * 16, i * 16 + (family === 4 ? 4 : 16)),
        prefixLength: family === 4 ? this.settings.ipv4PrefixLength : this.settings.ipv6PrefixLength,
        kind,
        qtype: KIND_USES_QTYPE[kind] ? this.qtypes[i] : null,
        name: named ? this.ringNames.slice(ref * NAME_MAX, ref * NAME_MAX + this.ringLengths[ref]) : null,
        nameHash: this.nameHashes[i],
        responses: this.hits[i],
        limited: this.limitedCounts[i],
        balance,
        firstSeenMs: this.created[i],
        lastSeenMs: this.seen[i],
      });
    }
    return out;
  }

  /** The slot of the bucket keyed (a, b), claiming and initialising one when it has none. */
  private findOrClaim(
    a: number,
    b: number,
    nowMs: number,
    kind: number,
    family: number,
    qtype: number,
    nameHash: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
  ): number {
    const mask = this.mask;
    let i = a & mask;
    let empty = -1;
    let idle = -1;
    let idleSeen = Infinity;
    let oldest = -1;
    let oldestSeen = Infinity;
    for (let p = 0; p < PROBE_WINDOW; p++, i = (i + 1) & mask) {
      const k = this.kinds[i];
      // Slots are never emptied, so a key is always before the first empty slot of its window.
      if (k === 0) {
        empty = i;
        break;
      }
      if (this.keyA[i] === a && this.keyB[i] === b) return i;
      const seen = this.seen[i];
      if (seen < oldestSeen) {
        oldestSeen = seen;
        oldest = i;
      }
      if (seen < idleSeen && this.recovered(i, k - 1, nowMs)) {
        idleSeen = seen;
        idle = i;
      }
    }
    let slot: number;
    if (empty >= 0) {
      slot = empty;
      this.stats[RrlStat.INSERTED]++;
    } else if (idle >= 0) {
      slot = idle;
      this.stats[RrlStat.REUSED]++;
    } else {
      slot = oldest;
      this.stats[RrlStat.EVICTED]++;
    }
    this.keyA[slot] = a;
    this.keyB[slot] = b;
    this.kinds[slot] = kind + 1;
    this.families[slot] = family;
    this.qtypes[slot] = qtype;
    this.nameHashes[slot] = nameHash;
    this.seen[slot] = nowMs;
    this.created[slot] = nowMs;
    this.balances[slot] = this.rates[kind] * 1000;
    this.slipCounts[slot] = 0;
    this.hits[slot] = 0;
    this.limitedCounts[slot] = 0;
    this.nameRefs[slot] = -1;
    const n = slot * 16;
    writeBe32(this.networks, n, w0);
    writeBe32(this.networks, n + 4, w1);
    writeBe32(this.networks, n + 8, w2);
    writeBe32(this.networks, n + 12, w3);
    return slot;
  }

  /** True when the bucket in `slot` has earned back its full balance (or outlived the window): a fresh bucket is the same. */
  private recovered(slot: number, kind: number, nowMs: number): boolean {
    const elapsed = nowMs - this.seen[slot];
    if (elapsed > this.windowMs) return true;
    const rate = this.rates[kind];
    return this.balances[slot] + (elapsed > 0 ? elapsed * rate : 0) >= rate * 1000;
  }

  private recordName(slot: number, name: Uint8Array, off: number): void {
    let len = 0;
    const end = name.length;
    while (off + len < end && len < NAME_MAX) {
      const l = name[off + len];
      if (l === 0 || l > 63 || off + len + 1 + l >= end || len + 1 + l >= NAME_MAX) break;
      len += 1 + l;
    }
    const r = this.ringNext;
    this.ringNext = (r + 1) % NAME_RING;
    this.ringNames.set(name.subarray(off, off + len), r * NAME_MAX);
    this.ringNames[r * NAME_MAX + len] = 0;
    this.ringLengths[r] = len + 1;
    this.ringOwners[r] = slot;
    this.ringKeys[r] = this.keyA[slot];
    this.nameRefs[slot] = r;
  }
}

/** The 32-bit word `w` (0-3) of a mask of `prefix` leading one bits. */
function prefixWord(prefix: number, w: number): number {
  const bits = Math.max(0, Math.min(32, prefix - 32 * w));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

function be32(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

function writeBe32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/**
 * One MurmurHash3 (x86, 32-bit) block step. Murmur3 has seed-independent
 * multicollisions, but a colliding key can only merge into another bucket of
 * the same shape (more limiting for whoever crafted it); spreading keys over a
 * chosen probe window needs the random seeds.
 */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3 finaliser: every input bit affects every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
