/**
 * The DO=1 plan variants the answer builder makes (zone/answers.ts), against
 * a recording AnswerSigning stand-in, so the selection is checked without
 * keys or sockets: which RRsets get RRSIGs and with which owner bytes, NODATA
 * with the name's own NSEC (never the zone's shared plan), wildcard answers
 * and names that do not exist handed to per-name signers, delegations with
 * their DS or the NSEC proving none, and an unsigned zone left exactly as it
 * was (no variant anywhere).
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/build/config/load.js';
import { buildZone, type ZoneData } from '../../../src/zone/build.js';
import {
  type AnswerSigning,
  AnswerBuilder,
  type Chunk,
  type NameEntry,
  Plan,
  type PerNameAnswer,
} from '../../../src/zone/answers.js';

const YAML = `zones:
  - origin: example.net.
    soa: { mname: ns1, rname: h@example.net, serial: 1, minimum: 300, ttl: 600 }
    ns: [ns1]
    records:
      ns1: { A: [192.0.2.1] }
      www: { A: [192.0.2.2], TXT: [hi] }
      alias: { CNAME: www }
      "*.wild": { A: [192.0.2.9] }
      sub: { NS: [ns.sub] }
      ns.sub: { A: [192.0.2.53] }
      sec: { NS: [ns.example.org.], DS: ["60485 13 2 6f3a8c1e5d5b1f0e2c4a7d9b3e8f1a2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a"] }
  - origin: example.org.
    soa: { mname: ns1, rname: h@example.org, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [192.0.2.3] }
`;

function zones(): ZoneData[] {
  const loaded = parseConfigText(YAML, 'm.yaml');
  return loaded.config.zones.map((zc, i) => buildZone(zc, i, '.', () => undefined)!);
}

/** Records what was asked; RRSIGs and NSECs are marker bytes [0xee, type] so the sections show them. */
class Recording implements AnswerSigning {
  readonly asked: string[] = [];
  readonly perName: string[] = [];
  signs(zone: number): boolean {
    return zone === 0;
  }
  rrsigRecords(zone: number, name: string, type: number, ownerBytes: Uint8Array): Uint8Array[] {
    this.asked.push(`${zone} ${name} ${type} ${ownerBytes.length === 2 ? 'qname' : 'full'}`);
    return [Uint8Array.of(0xee, type)];
  }
  nsecRecords(zone: number, name: string, ownerBytes: Uint8Array): Uint8Array[] {
    this.asked.push(`${zone} ${name} NSEC ${ownerBytes.length === 2 ? 'qname' : 'full'}`);
    return [Uint8Array.of(0xee, 47), Uint8Array.of(0xee, 46)];
  }
  denial(zone: number): PerNameAnswer {
    this.perName.push(`denial ${zone}`);
    return { sections: () => new Plan({ rcode: 0, kind: 'nxdomain' }) };
  }
  wildcard(zone: number, _p: Plan, first: Chunk | null, _r: Uint8Array, _c: number, _s: Uint8Array[], types: number[]) {
    this.perName.push(`wildcard ${zone} ${first ? `${first.name} ${first.type}` : `nodata ${types.join(',')}`}`);
    return { sections: () => new Plan({ rcode: 0, kind: 'answer' }) };
  }
}

function build(signing: AnswerSigning | null): Map<string, NameEntry> {
  const entries = new AnswerBuilder(zones(), [], () => 0, signing).build();
  return new Map(entries.map((e) => [e.name, e]));
}

const tail = (b: Uint8Array) => [...b.subarray(b.length - 2)];

describe('DO=1 plan variants', () => {
  it('RRSIGs after each RRset of an answer, owner bytes as the RR (the qname pointer, or the full CNAME target)', () => {
    const s = new Recording();
    const e = build(s);
    const www = e.get('www.example.net')!.plans.get(1)!;
    expect(www.signed!.anCount).toBe(2);
    expect(tail(www.signed!.answer)).toEqual([0xee, 1]);
    expect(www.signed!.isSigned).toBe(true);
    const alias = e.get('alias.example.net')!.plans.get(1)!;
    expect(alias.signed!.anCount).toBe(4); // CNAME, its RRSIG, A, its RRSIG
    expect(s.asked).toContain('0 alias.example.net 5 qname');
    expect(s.asked).toContain('0 www.example.net 1 full');
  });

  it('NODATA: SOA and its RRSIG, then the NSEC of that very name (each name its own plan)', () => {
    const s = new Recording();
    const e = build(s);
    const www = e.get('www.example.net')!.other;
    const ns1 = e.get('ns1.example.net')!.other;
    expect(www).not.toBe(ns1);
    expect(www.signed!.nsCount).toBe(4); // SOA, RRSIG(SOA), NSEC, RRSIG(NSEC)
    expect(s.asked).toContain('0 www.example.net NSEC qname');
    expect(s.asked).toContain('0 example.net 6 full');
  });

  it('wildcards and names that do not exist are signed per name', () => {
    const s = new Recording();
    const e = build(s);
    const wild = e.get('*.wild.example.net')!;
    expect(wild.plans.get(1)!.signed).toBeNull();
    expect(wild.plans.get(1)!.perName).not.toBeNull();
    expect(wild.other.perName).not.toBeNull();
    expect(s.perName).toEqual(
      expect.arrayContaining(['denial 0', 'wildcard 0 *.wild.example.net 1', 'wildcard 0 nodata 1']),
    );
    expect(e.get('example.net')!.apex!.nxdomain.perName).not.toBeNull();
  });

  it('delegations: the DS and its RRSIG, or the NSEC proving there is none; glue unsigned', () => {
    const s = new Recording();
    const e = build(s);
    const sec = e.get('sec.example.net')!.referral!;
    expect(sec.signed!.nsCount).toBe(3); // NS, DS, RRSIG(DS)
    expect(s.asked).toContain('0 sec.example.net 43 full');
    const sub = e.get('sub.example.net')!.referral!;
    expect(sub.signed!.nsCount).toBe(3); // NS, NSEC, RRSIG(NSEC)
    expect(sub.signed!.arCount).toBe(1);
    expect(s.asked).not.toContain('0 ns.sub.example.net 1 full');
  });

  it('an unsigned zone (and no signer at all) gets no variant: the same plans as before', () => {
    const s = new Recording();
    const e = build(s);
    const org = e.get('ns1.example.org')!;
    expect(org.plans.get(1)!.signed).toBeNull();
    expect(org.other).toBe(e.get('example.org')!.apex!.nodata);
    const plain = build(null);
    for (const entry of plain.values()) {
      for (const p of [...entry.plans.values(), entry.other, entry.any]) {
        expect(p.signed).toBeNull();
        expect(p.perName).toBeNull();
      }
    }
    expect(plain.get('www.example.net')!.other).toBe(plain.get('example.net')!.apex!.nodata);
  });
});
