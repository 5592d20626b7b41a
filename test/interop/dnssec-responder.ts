/**
 * A tiny test-only UDP responder that answers from a small signed zone the
 * way the online signer of issue 16 will (RFC 9824 compact answers), built
 * only from the signing core: positive RRsets with their RRSIGs; a name
 * that does not exist as NOERROR with the SOA and a compact NSEC (RRSIG
 * NSEC NXNAME); NODATA and empty non-terminals with an NSEC of the types
 * present; wildcard answers signed as an exact match of the query name
 * (RFC 9824 section 3.3), or, to show a validator rejects it, with the
 * wildcard's own signature and no denial (`wildcardSignature: 'wildcard'`).
 * It is not Meridian's server: it lets a real validator (delv) judge the
 * signing core before the query path is wired.
 */
import dgram from 'node:dgram';
import { compactDenialNsec } from '../../src/dnssec/compact-denial.js';
import { RRType } from '../../src/dnssec/constants.js';
import type { ZoneKey } from '../../src/dnssec/key-files.js';
import { publishedKeys, signersFor } from '../../src/dnssec/key-roles.js';
import { lowerNameWire, nameWire, nameWireLength } from '../../src/dnssec/name-wire.js';
import { signRRset } from '../../src/dnssec/rrsig.js';
import { DEFAULT_VALIDITY, jitterSeed, signatureWindow } from '../../src/dnssec/validity.js';

export interface ResponderZone {
  origin: string;
  /** name (canonical) -> type -> RRset */
  records: Map<string, Map<number, { ttl: number; rdata: Buffer[] }>>;
  keys: ZoneKey[];
  /** The negative TTL, min(SOA TTL, SOA MINIMUM) (RFC 2308, RFC 9077). */
  negativeTtl: number;
  wildcardSignature: 'exact' | 'wildcard';
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

function rrWire(owner: Buffer, type: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

/** The RRset and its RRSIGs as wire RRs; `signedOwner` is the name signed over (the wildcard for 'wildcard' mode). */
function signedRRset(
  zone: ResponderZone,
  owner: Buffer,
  signedOwner: Buffer,
  type: number,
  ttl: number,
  rdata: Buffer[],
  now: number,
): Buffer[] {
  const out = rdata.map((r) => rrWire(owner, type, ttl, r));
  for (const key of signersFor(zone.keys, type, now)) {
    const window = signatureWindow(now, DEFAULT_VALIDITY, jitterSeed(signedOwner, type));
    const sig = signRRset({ owner: signedOwner, type, ttl, rdata }, key, nameWire(zone.origin), window);
    out.push(rrWire(owner, RRType.RRSIG, ttl, sig));
  }
  return out;
}

/** The answer to one query: rcode and the answer and authority sections. */
export function answer(
  zone: ResponderZone,
  qnameWire: Buffer,
  qtype: number,
  now: number,
): { rcode: number; answer: Buffer[]; authority: Buffer[] } {
  const labelsOf = (w: Buffer) => {
    const out: string[] = [];
    for (let i = 0; w[i] !== 0; i += 1 + w[i]) out.push(w.subarray(i + 1, i + 1 + w[i]).toString('latin1'));
    return out;
  };
  const qname = labelsOf(lowerNameWire(qnameWire)).join('.');
  if (qname !== zone.origin && !qname.endsWith(`.${zone.origin}`)) return { rcode: 5, answer: [], authority: [] };
  const owner = lowerNameWire(qnameWire);
  const apex = nameWire(zone.origin);
  const soa = zone.records.get(zone.origin)!.get(RRType.SOA)!;
  const negative = (types: number[] | null) => {
    const nsec = compactDenialNsec(owner, types);
    return {
      rcode: 0,
      answer: [],
      authority: [
        ...signedRRset(zone, apex, apex, RRType.SOA, zone.negativeTtl, soa.rdata, now),
        ...signedRRset(zone, nsec.owner, nsec.owner, RRType.NSEC, zone.negativeTtl, [nsec.rdata], now),
      ],
    };
  };
  const records = new Map(zone.records);
  const apexNode = records.get(zone.origin)!;
  const dnskeys = publishedKeys(zone.keys, now).map((k) => k.dnskey);
  records.set(zone.origin, new Map([...apexNode, [RRType.DNSKEY, { ttl: 3600, rdata: dnskeys }]]));
  const node = records.get(qname);
  if (node !== undefined) {
    const set = node.get(qtype);
    if (set === undefined) return negative([...node.keys()]);
    return { rcode: 0, answer: signedRRset(zone, owner, owner, qtype, set.ttl, set.rdata, now), authority: [] };
  }
  if ([...records.keys()].some((n) => n.endsWith(`.${qname}`))) return negative([]); // empty non-terminal
  const parent = qname.slice(qname.indexOf('.') + 1);
  const wildcard = records.get(`*.${parent}`);
  if (wildcard !== undefined) {
    const set = wildcard.get(qtype);
    if (set === undefined) return negative([...wildcard.keys()]);
    const signedOwner = zone.wildcardSignature === 'exact' ? owner : nameWire(`*.${parent}`);
    return { rcode: 0, answer: signedRRset(zone, owner, signedOwner, qtype, set.ttl, set.rdata, now), authority: [] };
  }
  return negative(null);
}

/** Serve `zone` on 127.0.0.1:port over UDP until closed. */
export async function startResponder(
  zone: ResponderZone,
): Promise<{ port: number; queries: string[]; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 17) return;
    const qnameLength = nameWireLength(msg, 12);
    const qname = Buffer.from(msg.subarray(12, 12 + qnameLength));
    const qtype = msg.readUInt16BE(12 + qnameLength);
    const question = msg.subarray(12, 12 + qnameLength + 4);
    queries.push(`${lowerNameWire(qname).toString('latin1')}/${qtype}`);
    const r = answer(zone, qname, qtype, Math.floor(Date.now() / 1000));
    const header = Buffer.concat([
      msg.subarray(0, 2),
      Buffer.from([0x84 | (msg[2] & 0x01), r.rcode]),
      u16(1),
      u16(r.answer.length),
      u16(r.authority.length),
      u16(1),
    ]);
    const opt = Buffer.concat([Buffer.from([0]), u16(41), u16(1232), Buffer.from([0, 0, 0x80, 0]), u16(0)]); // DO set (RFC 3225)
    socket.send(Buffer.concat([header, question, ...r.answer, ...r.authority, opt]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
