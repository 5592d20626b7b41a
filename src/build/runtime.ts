/**
 * Hydrate a Snapshot into what the query path reads: the name table with
 * precomputed answers, the geo answer caches, EDNS settings, and the
 * per-snapshot counters (answers per PoP, scope sketches), and the health
 * state the query path reads. Building one is cheap next to compiling; every
 * process (or worker) builds its own.
 */
import { isIPv4 } from 'node:net';
import { allServing, type HealthView } from '../health/view.js';
import { ScopeSketches } from '../util/hll.js';
import { parseIp } from '../net/ip.js';
import { type FamilyTrie, indexTrie } from '../policy/trie.js';
import { policyIdentity, type ScopeSet } from '../policy/current-scopes.js';
import { GeoAnswers, type GeoRecordRuntime, type PopAddresses } from '../policy/geo-answer.js';
import type { Snapshot } from './snapshot.js';
import { QType, Rcode } from '../wire/constants.js';
import type { ParsedQuery } from '../wire/query.js';
import { nameToWire } from '../zone/names.js';
import type { EdnsSettings } from '../wire/response.js';
import { encodeRRAtQname } from '../wire/rr.js';
import { AnswerBuilder, type GeoSlot, Plan, type NameEntry } from '../zone/answers.js';
import { NameTable } from '../zone/name-table.js';
import { RuntimeSigning } from './answer-signing.js';

/**
 * What the query path reads about health, installed as one reference (one
 * assignment): the view answers are chosen under and, per geo slot and
 * client family, the trie the ECS scope is read from, computed for that
 * same view. A query reads it once, so its answer and its scope always come
 * from the same health state (RFC 7871 7.2.1 asks that every address inside
 * the scope get that answer).
 */
export interface HealthState {
  readonly view: HealthView;
  /**
   * tries[2 * slot.id + (client network IPv6 ? 1 : 0)]: the policy's tries
   * merged by the answer given under `view` (policy/current-scopes.ts), or
   * the compiled full-ranking trie, which is sound under every view.
   */
  readonly tries: readonly FamilyTrie[];
  /** The merged scopes in use (null: the compiled tries everywhere). */
  readonly scopes: ScopeSet | null;
}

export class Runtime {
  readonly table: NameTable<NameEntry>;
  readonly entries: NameEntry[];
  readonly records: GeoRecordRuntime[];
  readonly geo: GeoAnswers;
  readonly edns: EdnsSettings;
  readonly refused: Plan;
  readonly notimp: Plan;
  readonly formerr: Plan;
  readonly badvers: Plan;
  /** BADCOOKIE (RFC 7873 5.2.3-5.2.4), no records; the COOKIE option carries a fresh cookie. */
  readonly badcookie: Plan;
  /** NOERROR with empty sections: the answer to a questionless cookie request (RFC 7873 5.4). */
  readonly cookieOnly: Plan;
  readonly servfail: Plan;
  /** Answers served per [geo record][PoP] (first PoP of the answer). */
  readonly popAnswers: Float64Array;
  readonly sketches: ScopeSketches;
  /** Geo answer slots (geo record x type x owner), by GeoSlot.id. */
  readonly slots: readonly GeoSlot[];
  /** DNSSEC: the DO=1 answers signed on demand; null when no zone is signed. */
  readonly dnssec: RuntimeSigning | null;
  /** Replaced whole (healthState) when health or its scopes change; read once per query. */
  health: HealthState;
  /** Per geo record: the identity of its compiled policy (merged tries name the policy they belong to). */
  private readonly policyKeys: string[];

  constructor(
    readonly snapshot: Snapshot,
    health?: HealthView,
    scopes: ScopeSet | null = null,
  ) {
    const policyIndex = new Map(snapshot.policyNames.map((n, i) => [n, i]));
    // Each process indexes the tries it walks (the index is derived, never shipped).
    const policies = snapshot.policies.map((p) => ({ ...p, v4: indexTrie(p.v4), v6: indexTrie(p.v6) }));
    this.records = snapshot.geoRecords.map((g) => ({
      name: g.name,
      policy: policies[policyIndex.get(g.policy)!],
      ttl: g.ttl,
      ttlDegraded: g.ttlDegraded,
      maxAnswers: g.maxAnswers,
    }));
    const signed = snapshot.dnssec ?? [];
    this.dnssec = signed.some((s) => s !== null)
      ? new RuntimeSigning(
          signed,
          snapshot.zones,
          snapshot.geoRecords.map((g) => g.zone),
          snapshot.geoRecords.map((g) => g.name),
        )
      : null;
    const builder = new AnswerBuilder(
      snapshot.zones,
      snapshot.geoRecords,
      (g) => snapshot.geoRecords.indexOf(g),
      this.dnssec,
    );
    this.entries = builder.build();
    this.table = new NameTable(this.entries);
    const pops: PopAddresses[] = snapshot.pops.map((p) => ({
      v4: p.ipv4.filter((a) => isIPv4(a)).map((a) => parseIp(a)!.bytes),
      v6: p.ipv6.map((a) => parseIp(a)!.bytes),
    }));
    this.slots = builder.slots;
    this.policyKeys = snapshot.geoRecords.map((g) => policyIdentity(snapshot.policies[policyIndex.get(g.policy)!]));
    this.geo = new GeoAnswers(builder.slots, this.records, pops);
    const c = snapshot.config.server;
    this.edns = { udpMax: c.udp_max_payload, nsid: Buffer.from(snapshot.serverId, 'utf8') };
    const plan = (rcode: number): Plan => new Plan({ rcode, kind: 'refused' });
    this.refused = plan(Rcode.REFUSED);
    this.notimp = plan(Rcode.NOTIMP);
    this.formerr = plan(Rcode.FORMERR);
    this.badvers = plan(Rcode.BADVERS);
    this.badcookie = plan(Rcode.BADCOOKIE);
    this.cookieOnly = plan(Rcode.NOERROR);
    this.servfail = plan(Rcode.SERVFAIL);
    this.popAnswers = new Float64Array(this.records.length * snapshot.pops.length);
    this.sketches = new ScopeSketches(this.records.length);
    this.chaosIdentity = snapshot.serverId ? chaosPlan(snapshot.serverId) : null;
    const view = health && health.serving.length === snapshot.pops.length ? health : allServing(snapshot.pops.length);
    this.health = this.healthState(view, scopes);
  }

  /**
   * The health state for `view` with the merged scopes `scopes` where they
   * apply: computed for this very view (same epoch) and for this runtime's
   * compiled policy (same identity); everything else reads the compiled trie.
   * Install it with one assignment to `health`.
   */
  healthState(view: HealthView, scopes: ScopeSet | null): HealthState {
    const usable = scopes !== null && scopes.epoch === view.epoch ? scopes : null;
    const tries: FamilyTrie[] = [];
    let merged = false;
    for (const slot of this.slots) {
      const compiled = this.records[slot.record].policy;
      const e = usable?.entries[2 * slot.record + (slot.qtype === QType.AAAA ? 1 : 0)] ?? null;
      const fits = e !== null && e.policyKey === this.policyKeys[slot.record];
      merged ||= fits;
      tries[2 * slot.id] = fits ? e.v4 : compiled.v4;
      tries[2 * slot.id + 1] = fits ? e.v6 : compiled.v6;
    }
    return { view, tries, scopes: merged ? usable : null };
  }

  private readonly chaosIdentity: Plan | null;

  /**
   * DNSSEC: sign in the background the geo answers DO=1 clients used, under
   * the current health view (after a health change, or from the runtime this
   * one replaces when it serves the same config). No-op for unsigned zones.
   */
  presign(previous?: Runtime): void {
    if (this.dnssec === null) return;
    const used = previous?.snapshot.hash === this.snapshot.hash ? previous.dnssec?.used : undefined;
    this.dnssec.presign(this.slots, this.geo, () => this.health.view, used);
  }

  /** CHAOS TXT id.server / hostname.bind: server.server_id as BIND, Knot and NSD answer it; null when it is none. */
  chaos(msg: Uint8Array, q: ParsedQuery): Plan | null {
    if (this.chaosIdentity === null || (q.qtype !== QType.TXT && q.qtype !== QType.ANY)) return null;
    const name = Buffer.from(msg.subarray(12, 12 + q.qnameLength))
      .toString('latin1')
      .toLowerCase();
    return name === ID_SERVER || name === HOSTNAME_BIND ? this.chaosIdentity : null;
  }
}

const ID_SERVER = nameToWire('id.server').toString('latin1');
const HOSTNAME_BIND = nameToWire('hostname.bind').toString('latin1');

function chaosPlan(identity: string): Plan {
  const answer = encodeRRAtQname({ type: 'TXT', class: 'CH', ttl: 0, data: [identity.slice(0, 255)] });
  return new Plan({ rcode: Rcode.NOERROR, aa: true, answer, anCount: 1, kind: 'answer' });
}
