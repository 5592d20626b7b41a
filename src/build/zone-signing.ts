/**
 * DNSSEC at build time (in the compile worker): load each signed zone's key
 * files (refusing private keys others can read, key sets that cannot sign),
 * add the apex DNSKEY, CDS and CDNSKEY RRsets to the zone, and sign every
 * authoritative RRset once, plus the compact-denial NSEC (RFC 9824) of every
 * name that exists. The snapshot carries these RRSIG bytes, never private
 * keys: each runtime loads the key files itself for the answers it signs on
 * demand (geo answer sets, names that do not exist, wildcard expansions).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { keySetProblems } from '../dnssec/key-roles.js';
import { loadKeyPair, type ZoneKey } from '../dnssec/key-files.js';
import { keyStateAt, nextTimingEvent } from '../dnssec/key-timing.js';
import { cdsKeys } from '../dnssec/key-roles.js';
import { nameWire } from '../dnssec/name-wire.js';
import { checkValidityPolicy, type ValidityPolicy } from '../dnssec/validity.js';
import { ZoneSigner } from '../dnssec/zone-signer.js';
import { DnssecKeyError } from '../errors.js';
import { AnswerBuilder } from '../zone/answers.js';
import type { GeoRecordData, ZoneData } from '../zone/build.js';
import type { Report } from './config/load.js';
import type { DnssecConfig, MeridianConfig } from './config/schema.js';
import type { Snapshot } from './snapshot.js';

/** One signed zone in the snapshot: plain data (typed arrays), no private keys. */
export interface SignedZone {
  origin: string;
  /** The .key files, resolved; each runtime loads the pairs again. */
  keyFiles: string[];
  validity: ValidityPolicy;
  denialCacheSize: number;
  geoCacheSize: number;
  /** Per-name signatures per second and process over UDP (0 = no limit). */
  signingBudget: number;
  /** Seconds since the epoch. */
  signedAt: number;
  /** `${name}|${type}` -> RRSIG RDATAs of that RRset. */
  rrsigs: Record<string, Uint8Array[]>;
  /** name -> [compact NSEC RDATA, its RRSIG RDATAs...] for every name that exists. */
  nsec: Record<string, Uint8Array[]>;
  /** Earliest expiration of the static signatures, and when the first of them is due for re-signing. */
  expiresAt: number;
  refreshAt: number;
  /** Next key timing event (a rollover step), or null. */
  nextKeyEvent: number | null;
  signatures: number;
  signingSeconds: number;
  keys: KeySummary[];
}

export interface KeySummary {
  tag: number;
  algorithm: number;
  flags: number;
  published: boolean;
  signing: boolean;
  cds: boolean;
  file: string;
}

const KEY_FILE = /^K(.*)\.\+(\d{3})\+(\d{5})\.key$/;

/** The validity policy of a zone's config, in seconds. */
export function validityOf(c: DnssecConfig): ValidityPolicy {
  const v = c.validity;
  return {
    lifetime: Math.round(v.lifetime),
    refresh: Math.round(v.refresh),
    inceptionOffset: Math.round(v.inception_offset),
    jitter: Math.round(v.jitter),
  };
}

/** The .key files `keys:` names: files as given, directories by the zone's pairs in them. */
function keyFilesOf(entries: readonly string[], dir: string, origin: string, problem: (m: string) => void): string[] {
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.resolve(dir, entry);
    let isDir = false;
    try {
      isDir = statSync(full).isDirectory();
    } catch {
      // a pair given by its base name (no .key): loadKeyPair says what is missing
    }
    if (!isDir) {
      files.push(full.replace(/\.(key|private)$/, '.key'));
      continue;
    }
    const found = readdirSync(full)
      .filter((f) => KEY_FILE.exec(f)?.[1].toLowerCase() === origin)
      .sort()
      .map((f) => path.join(full, f));
    if (found.length === 0)
      problem(
        `no key files for ${origin || '.'} in ${full} (meridian keygen --zone ${origin || '.'} --directory ${full})`,
      );
    files.push(...found);
  }
  return files;
}

/** Load and check a zone's keys; null (problems reported) when the zone cannot be signed. */
export function loadZoneKeys(
  c: DnssecConfig,
  dir: string,
  origin: string,
  now: number,
  problem: (message: string) => void,
): ZoneKey[] | null {
  const before = { n: 0 };
  const report = (m: string) => {
    before.n++;
    problem(m);
  };
  const keys: ZoneKey[] = [];
  for (const file of keyFilesOf(c.keys, dir, origin, report)) {
    try {
      const key = loadKeyPair(file);
      if (key.zone !== origin) report(`${file} is a key of ${key.zone || '.'}, not of ${origin || '.'}`);
      else keys.push(key);
    } catch (err) {
      report(err instanceof DnssecKeyError ? err.message : `${file}: ${(err as Error).message}`);
    }
  }
  if (before.n > 0) return null;
  for (const p of keySetProblems(keys, now, (k) => path.basename(k.keyFile))) report(p);
  return before.n > 0 ? null : keys;
}

const HEX = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Sign the zones that have a `dnssec:` section: their apex key RRsets are
 * added to `zones` (so they are answered like any RRset), and every RRset
 * is signed at `now` (seconds). One entry per zone, null when unsigned.
 */
export function signZones(
  config: MeridianConfig,
  maybeZones: ReadonlyArray<ZoneData | null>,
  geoRecords: readonly GeoRecordData[],
  dir: string,
  report: Report,
  now: number,
): Array<SignedZone | null> {
  const signers: Array<{ signer: ZoneSigner; c: DnssecConfig; keys: ZoneKey[] } | null> = maybeZones.map((z, i) => {
    const c = config.zones[i].dnssec;
    if (c === undefined || z === null) return null;
    const at = ['zones', i, 'dnssec'];
    const keys = loadZoneKeys(c, dir, z.origin, now, (m) => report([...at, 'keys'], m));
    const policy = validityOf(c);
    const maxTtl = Math.max(
      0,
      ...z.records.map((r) => r.ttl),
      ...geoRecords.filter((g) => g.zone === i).map((g) => g.ttl),
    );
    for (const p of checkValidityPolicy(policy, maxTtl)) report([...at, 'validity'], p);
    for (const r of z.records)
      if (['TYPE48', 'TYPE59', 'TYPE60', 'TYPE46', 'TYPE47'].includes(r.type))
        report(
          ['zones', i],
          `${r.name} ${r.type}: a signed zone's DNSKEY, CDS, CDNSKEY, RRSIG and NSEC records are made by Meridian`,
        );
    if (keys === null) return null;
    return { signer: new ZoneSigner(nameWire(z.origin), keys, policy), c, keys };
  });
  // A broken zone stops the build anyway: the keys were checked, nothing more to sign.
  if (maybeZones.some((z) => z === null) || signers.every((s) => s === null)) return signers.map(() => null);
  const zones = maybeZones as ZoneData[];
  zones.forEach((z, i) => {
    const s = signers[i];
    if (s === null) return;
    const ttl = s.keys[0]?.ttl ?? z.soaTtl;
    const add = (type: 'TYPE48' | 'TYPE59' | 'TYPE60', rdatas: Buffer[]) => {
      for (const r of rdatas) z.records.push({ name: z.origin, type, ttl, data: HEX(r) });
    };
    add('TYPE48', s.signer.dnskeys(now));
    add('TYPE59', s.signer.cds(now));
    add('TYPE60', s.signer.cdnskeys(now));
  });
  const input = new AnswerBuilder(zones, geoRecords, () => 0).signingInput();
  return zones.map((z, i) => {
    const s = signers[i];
    if (s === null) return null;
    const rrsigs: Record<string, Uint8Array[]> = {};
    const nsec: Record<string, Uint8Array[]> = {};
    let expiresAt = Infinity;
    let refreshAt = Infinity;
    for (const node of input) {
      if (node.zone !== i) continue;
      const owner = nameWire(node.name);
      for (const set of node.rrsets) {
        const signed = s.signer.sign({ owner, type: set.type, ttl: set.ttl, rdata: set.rdata }, now);
        rrsigs[`${node.name}|${set.type}`] = signed.rrsigs;
        expiresAt = Math.min(expiresAt, signed.expiration);
        refreshAt = Math.min(refreshAt, signed.refreshAt);
      }
      const n = s.signer.nsec(owner, node.types, z.negativeTtl, now);
      nsec[node.name] = [n.rdata, ...n.rrsigs];
      expiresAt = Math.min(expiresAt, n.expiration);
      refreshAt = Math.min(refreshAt, n.refreshAt);
    }
    const inCds = new Set(cdsKeys(s.keys, now).map((k) => k.keyTag));
    return {
      origin: z.origin,
      keyFiles: s.keys.map((k) => k.keyFile),
      validity: s.signer.policy,
      denialCacheSize: s.c.denial_cache_size,
      geoCacheSize: s.c.geo_cache_size,
      signingBudget: s.c.signing_budget,
      signedAt: now,
      rrsigs,
      nsec,
      expiresAt,
      refreshAt,
      nextKeyEvent:
        nextTimingEvent(
          s.keys.map((k) => k.timing),
          now,
        ) ?? null,
      signatures: s.signer.counters.signatures,
      signingSeconds: s.signer.counters.seconds,
      keys: s.keys.map((k) => {
        const st = keyStateAt(k.timing, now);
        return {
          tag: k.keyTag,
          algorithm: k.algorithm,
          flags: k.flags,
          published: st.published,
          signing: st.signing && st.published,
          cds: inCds.has(k.keyTag),
          file: k.keyFile,
        };
      }),
    };
  });
}

/** The apex records signZones adds (DNSKEY, CDS, CDNSKEY): a signed zone holds no others of these types. */
const KEY_RECORD_TYPES = new Set(['TYPE48', 'TYPE59', 'TYPE60']);

/**
 * Sign the zones of a running snapshot again at `now` (the re-signing
 * timer, plane/resign.ts): its DNSKEY, CDS and CDNSKEY records are dropped
 * and made again from the key files (a rollover step may have changed
 * them), every RRset re-signed. Throws with every problem (a key file
 * removed or made readable by others); the running snapshot then keeps serving.
 */
export function resignZones(
  s: Pick<Snapshot, 'config' | 'zones' | 'geoRecords' | 'dnssec' | 'file'>,
  now: number,
): Pick<Snapshot, 'zones' | 'dnssec'> {
  const zones = s.zones.map((z, i) =>
    s.dnssec[i] === null ? z : { ...z, records: z.records.filter((r) => !KEY_RECORD_TYPES.has(r.type)) },
  );
  const problems: string[] = [];
  const dnssec = signZones(
    s.config,
    zones,
    s.geoRecords,
    path.dirname(s.file),
    (p, m) => problems.push(`${p.join('.')}: ${m}`),
    now,
  );
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { zones, dnssec };
}

/** The next moment the zones of `dnssec` must be signed again (refresh or a key event), seconds; null when never. */
export function nextResign(dnssec: ReadonlyArray<SignedZone | null>): number | null {
  let next = Infinity;
  for (const z of dnssec) {
    if (z === null) continue;
    next = Math.min(next, z.refreshAt, z.nextKeyEvent ?? Infinity);
  }
  return Number.isFinite(next) ? next : null;
}
