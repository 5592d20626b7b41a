/**
 * DNAME substitution as a property, through handleQuery in-process: for any
 * labels (any octets, any case) in front of a DNAME owner and any qtype, the
 * answer parses, starts with the DNAME, and either is YXDOMAIN exactly when
 * the substituted name would pass 255 octets, or carries a CNAME from the
 * qname as asked to those labels followed by the DNAME target; chained
 * DNAMEs give one DNAME/CNAME pair per hop. Both output paths (a fresh
 * buffer, and a slot of a caller's batch buffer) give the same bytes, and
 * nothing ever ends in an internal error.
 */
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/build/config/load.js';
import { handleQuery } from '../../src/query/handle-query.js';
import { QueryContext } from '../../src/query/context.js';
import { InProcessListener } from '../helpers/in-process.js';
import { QueryCounters } from '../../src/query/counters.js';
import { Runtime } from '../../src/build/runtime.js';
import { buildSnapshot } from '../../src/build/snapshot.js';
import { UDP } from '../../src/wire/constants.js';
import { wireName } from '../unit/wire/build.js';

const TARGET = `${'t'.repeat(63)}.${'u'.repeat(63)}.example.net`;
const rt = new Runtime(
  buildSnapshot(
    parseConfigText(
      `zones:
  - origin: example.com.
    soa: { mname: ns1, rname: h@example.com, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [192.0.2.1] }
      old: { DNAME: { ttl: 77, values: example.net. } }
      long: { DNAME: ${TARGET}. }
      hop: { DNAME: old.example.com. }
  - origin: example.net.
    soa: { mname: ns1, rname: h@example.net, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [192.0.2.2] }
      "*": { A: [198.51.100.1], TXT: [anything] }
`,
      'dname.yaml',
    ),
  ),
);
const OWNERS: Record<string, { target: string; hops: number }> = {
  'old.example.com': { target: 'example.net', hops: 1 },
  'long.example.com': { target: TARGET, hops: 1 },
  'hop.example.com': { target: 'example.net', hops: 2 },
};

const label = fc.oneof(
  fc.constantFrom('a', 'WWW', 'x-y', '_tcp'),
  fc.uint8Array({ minLength: 1, maxLength: 63 }).map((b) => Buffer.from(b).toString('latin1')),
);
const queryArb = fc.record({
  labels: fc.array(label, { minLength: 1, maxLength: 5 }),
  owner: fc.constantFrom(...Object.keys(OWNERS)),
  qtype: fc.oneof(fc.constantFrom(1, 16, 28, 39, 65, 255), fc.nat(65535)),
  id: fc.nat(65535),
});

function packet(labels: string[], owner: string, qtype: number, id: number): Buffer {
  const prefix = Buffer.concat(
    labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l, 'latin1')]), Buffer.from(l, 'latin1')])),
  );
  const header = Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.from([qtype >> 8, qtype & 0xff, 0, 1]);
  return Buffer.concat([header, prefix, wireName(owner), tail]);
}

describe('DNAME substitution for any qname below a DNAME', () => {
  it('holds its properties over 5,000 generated queries', () => {
    const counters = new QueryCounters();
    const batch = Buffer.alloc(70_000);
    const dgram = new InProcessListener(rt, counters, UDP);
    const batched = new QueryContext({ runtime: rt }, counters, UDP);
    fc.assert(
      fc.property(queryArb, ({ labels, owner, qtype, id }) => {
        const msg = packet(labels, owner, qtype, id);
        const qnameLength = msg.length - 16;
        if (qnameLength > 255) return; // not a valid qname: FORMERR, tested elsewhere
        const out = dgram.answer(msg, '192.0.2.9')!;
        // The batched path: source as bytes, the answer written into a slot of a shared buffer.
        batched.source.setBytes(4, Uint8Array.from([192, 0, 2, 9]), 0);
        batched.out = batch;
        batched.outOffset = 100;
        const len = handleQuery(batched, msg, msg.length);
        expect(batch.subarray(100, 100 + len).equals(dgram.answer(msg, '192.0.2.9')!)).toBe(true);
        const reply = dnsPacket.decode(out);
        const rcode = out[3] & 0x0f;
        const { target, hops } = OWNERS[owner];
        const answers = reply.answers as Array<{ name: string; type: string; data: unknown; ttl: number }>;
        const prefixOctets = qnameLength - wireName(owner).length;
        const newLength = prefixOctets + wireName(target).length;
        expect(answers[0].type).toBe('DNAME');
        if (newLength > 255) {
          expect(rcode).toBe(6);
          expect(answers.map((a) => a.type)).toEqual(['DNAME']);
          return;
        }
        expect(answers.slice(0, 2 * hops).map((a) => a.type)).toEqual(
          hops === 1 ? ['DNAME', 'CNAME'] : ['DNAME', 'CNAME', 'DNAME', 'CNAME'],
        );
        const cname = answers[2 * hops - 1];
        const asked = reply.questions![0].name;
        expect(answers[1].name).toBe(asked);
        expect(cname.data).toBe(`${asked.slice(0, asked.length - owner.length)}${target}`);
        if (owner === 'old.example.com') expect([answers[0].ttl, answers[1].ttl]).toEqual([77, 77]);
        expect([0, 3]).toContain(rcode);
      }),
      { numRuns: 5000, seed: 20261122 },
    );
    expect(counters.internalErrors).toBe(0);
  });
});
