/**
 * Hydrate a Snapshot into what the query path reads: the name table with
 * precomputed answers, the geo answer caches, EDNS settings, and the
 * per-snapshot counters (answers per PoP, scope sketches). Building one is
 * cheap next to compiling; every process (or worker) builds its own.
 */
import { isIPv4 } from 'node:net';
import { allServing, type HealthView } from '../health/view.js';
import { ScopeSketches } from '../util/hll.js';
import { parseIp } from '../net/ip.js';
import { indexTrie } from '../policy/trie.js';
import { GeoAnswers, type GeoRecordRuntime, type PopAddresses } from '../policy/geo-answer.js';
import type { Snapshot } from './snapshot.js';
import { QType, Rcode } from '../wire/constants.js';
import type { ParsedQuery } from '../wire/query.js';
import { nameToWire } from '../zone/names.js';
import type { EdnsSettings } from '../wire/response.js';
import { encodeRRAtQname } from '../wire/rr.js';
import { AnswerBuilder, Plan, type GeoSlot, type NameEntry } from '../zone/answers.js';
import { NameTable } from '../zone/name-table.js';
import { RuntimeSigning } from './answer-signing.js';

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
  /** DNSSEC: the DO=1 answers signed on demand; null when no zone is signed. */
  readonly dnssec: RuntimeSigning | null;
  health: HealthView;

  constructor(
    readonly snapshot: Snapshot,
    health?: HealthView,
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
    this.geo = new GeoAnswers(builder.slots, this.records, pops);
    this.slots = builder.slots;
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
    this.health = health && health.serving.length === snapshot.pops.length ? health : allServing(snapshot.pops.length);
    this.chaosIdentity = snapshot.serverId ? chaosPlan(snapshot.serverId) : null;
  }

  private readonly chaosIdentity: Plan | null;

  /** Geo answer slots, by id (DNSSEC pre-signing walks them). */
  readonly slots: readonly GeoSlot[];

  /**
   * DNSSEC: sign in the background the geo answers DO=1 clients used, under
   * the current health view (after a health change, or from the runtime this
   * one replaces when it serves the same config). No-op for unsigned zones.
   */
  presign(previous?: Runtime): void {
    if (this.dnssec === null) return;
    const used = previous?.snapshot.hash === this.snapshot.hash ? previous.dnssec?.used : undefined;
    this.dnssec.presign(this.slots, this.geo, () => this.health, used);
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
