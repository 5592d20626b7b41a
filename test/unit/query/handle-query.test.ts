/**
 * handleQuery in-process, no sockets: a table of (qname, qtype, ECS option,
 * source address) -> (rcode, answers, ECS scope) on the test config (fixture
 * city database, the test PoPs, STATIC_ZONE), through the same QueryContext a
 * listener uses. Then the context's own guarantees: state does not leak from
 * one query to the next (the source address of a TCP socket whose
 * remoteAddress is undefined), two contexts do not share state, the answer
 * lands at the transport's offset and nowhere else.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/build/config/load.js';
import { Runtime } from '../../../src/build/runtime.js';
import { buildSnapshot } from '../../../src/build/snapshot.js';
import { QueryContext } from '../../../src/query/context.js';
import { QueryCounters } from '../../../src/query/counters.js';
import { handleQuery } from '../../../src/query/handle-query.js';
import { Rcode, TCP, UDP } from '../../../src/wire/constants.js';
import { testConfig } from '../../helpers/configs.js';
import { buildQuery, decodeReply, type Reply } from '../../helpers/dns.js';
import { InProcessListener } from '../../helpers/in-process.js';

const rt = new Runtime(buildSnapshot(parseConfigText(testConfig(), '/test/meridian.yaml')));

/** The answer's A/AAAA/CNAME data, in order. */
function data(r: Reply): string[] {
  return (r.packet.answers ?? []).map((a) => String((a as { data: unknown }).data));
}

interface Row {
  name: string;
  type?: string;
  ecs?: string;
  /** The packet's source address as the socket reports it. */
  source?: string;
  rcode: number;
  answers: string[];
  /** ECS SCOPE echoed; null when the response must carry no ECS option. */
  scope: number | null;
}

// Fixture networks (geo-data/fixture-networks.ts): 6.0.0.0/16 Sydney (unplaced around it: /16),
// 1.0.0.0/13 Frankfurt, Munich and Berlin, all nearest fra (/13),
// 3.0.0.0/9 New York, 2401::/16 Sydney, 127.0.0.0/8 Berlin (nearest PoP fra). The policy is
// nearest with fallback [fra, nyc]; PoPs answer 192.0.2.N / 2001:db8::N (syd = 6, fra = 1, nyc = 3).
const TABLE: Row[] = [
  // Static names: scope 0 whatever the option says (RFC 7871 7.2.1).
  { name: 'www.example.net', rcode: Rcode.NOERROR, answers: ['198.51.100.10'], scope: null },
  { name: 'www.example.net', ecs: '6.0.0.0/24', rcode: Rcode.NOERROR, answers: ['198.51.100.10'], scope: 0 },
  { name: 'WwW.ExAmPlE.NeT', type: 'AAAA', rcode: Rcode.NOERROR, answers: ['2001:db8:100::10'], scope: null },
  { name: 'nothing.example.net', rcode: Rcode.NXDOMAIN, answers: [], scope: null },
  { name: 'mail.example.net', type: 'AAAA', rcode: Rcode.NOERROR, answers: [], scope: null },
  { name: 'www.example.org', rcode: Rcode.REFUSED, answers: [], scope: null },
  // Geo answers from the ECS option: the client's network decides, the scope is the leaf depth.
  { name: 'cdn.example.net', ecs: '6.0.0.0/24', rcode: Rcode.NOERROR, answers: ['192.0.2.6'], scope: 16 },
  { name: 'cdn.example.net', ecs: '1.0.0.0/24', rcode: Rcode.NOERROR, answers: ['192.0.2.1'], scope: 13 },
  { name: 'cdn.example.net', ecs: '3.0.0.0/24', rcode: Rcode.NOERROR, answers: ['192.0.2.3'], scope: 9 },
  {
    name: 'cdn.example.net',
    type: 'AAAA',
    ecs: '2401::/48',
    rcode: Rcode.NOERROR,
    answers: ['2001:db8::6'],
    scope: 16,
  },
  // An IPv6 subnet for an A query: the client's family decides the lookup, the qtype the answer.
  { name: 'cdn.example.net', ecs: '2401::/48', rcode: Rcode.NOERROR, answers: ['192.0.2.6'], scope: 16 },
  // IPv4-mapped: ::ffff:6.0.0.0/120 is the IPv4 client 6.0.0.0/24; its scope is 96 + the IPv4 depth.
  { name: 'cdn.example.net', ecs: '::ffff:6.0.0.0/120', rcode: Rcode.NOERROR, answers: ['192.0.2.6'], scope: 112 },
  // SOURCE 0: answered for the packet's source address, SCOPE 0 (RFC 7871 7.1.2).
  {
    name: 'cdn.example.net',
    ecs: '0.0.0.0/0',
    source: '6.0.0.1',
    rcode: Rcode.NOERROR,
    answers: ['192.0.2.6'],
    scope: 0,
  },
  {
    name: 'cdn.example.net',
    ecs: '0.0.0.0/0',
    source: '3.0.0.1',
    rcode: Rcode.NOERROR,
    answers: ['192.0.2.3'],
    scope: 0,
  },
  // No option: the source address decides, no ECS in the response.
  { name: 'cdn.example.net', source: '6.0.0.1', rcode: Rcode.NOERROR, answers: ['192.0.2.6'], scope: null },
  { name: 'cdn.example.net', source: '::ffff:6.0.0.1', rcode: Rcode.NOERROR, answers: ['192.0.2.6'], scope: null },
  { name: 'cdn.example.net', source: '127.0.0.1', rcode: Rcode.NOERROR, answers: ['192.0.2.1'], scope: null },
  // A source no database places (and one that cannot be read): the policy's fallback, fra.
  { name: 'cdn.example.net', source: '', rcode: Rcode.NOERROR, answers: ['192.0.2.1'], scope: null },
  // A CNAME towards a geo name with ECS is given alone, unscoped (RFC 7871 7.2.1).
  { name: 'to-geo.example.net', ecs: '6.0.0.0/24', rcode: Rcode.NOERROR, answers: ['cdn.example.net'], scope: 0 },
  {
    name: 'to-geo.example.net',
    source: '6.0.0.1',
    rcode: Rcode.NOERROR,
    answers: ['cdn.example.net', '192.0.2.6'],
    scope: null,
  },
];

describe('handleQuery: the table (no sockets)', () => {
  for (const transport of [UDP, TCP] as const) {
    const listener = new InProcessListener(rt, new QueryCounters(), transport);
    for (const row of TABLE) {
      const label = `${transport === UDP ? 'udp' : 'tcp'} ${row.name} ${row.type ?? 'A'}${row.ecs ? ` ecs ${row.ecs}` : ''}${row.source !== undefined ? ` from "${row.source}"` : ''}`;
      it(label, () => {
        const q = buildQuery({ name: row.name, type: row.type ?? 'A', id: 4242, ecs: row.ecs });
        const out = listener.answer(q, row.source ?? '127.0.0.1');
        expect(out).not.toBeNull();
        const r = decodeReply(out!);
        expect(r.packet.id).toBe(4242);
        expect(r.rcode).toBe(row.rcode);
        expect(data(r)).toEqual(row.answers);
        expect(r.ecs === null ? null : r.ecs.scope).toBe(row.scope);
      });
    }
  }
});

describe('QueryContext: no state leaks between queries or contexts', () => {
  const geo = buildQuery({ name: 'cdn.example.net', id: 1 });

  it("an unreadable source address is answered as unplaced, never as the previous query's client", () => {
    const fresh = new InProcessListener(rt, new QueryCounters(), TCP).answer(geo, '');
    const ctx = new InProcessListener(rt, new QueryCounters(), TCP);
    // Sydney first: the context's scratch then holds 6.0.0.1.
    expect(data(decodeReply(ctx.answer(geo, '6.0.0.1')!))).toEqual(['192.0.2.6']);
    // A socket whose remoteAddress is undefined (the TCP listener passes ''): not Sydney again.
    const after = decodeReply(ctx.answer(geo, '')!);
    expect(data(after)).toEqual(['192.0.2.1']);
    expect(data(after)).toEqual(data(decodeReply(fresh!)));
    // The same after batched-style bytes: a text source replaces them.
    ctx.ctx.source.setBytes(4, Uint8Array.of(6, 0, 0, 1), 0);
    expect(data(decodeReply(ctx.answer(geo, 'not an address')!))).toEqual(['192.0.2.1']);
  });

  it('two contexts answer interleaved queries from different clients independently', () => {
    const a = new InProcessListener(rt, new QueryCounters(), UDP);
    const b = new InProcessListener(rt, new QueryCounters(), UDP);
    for (let i = 0; i < 3; i++) {
      expect(data(decodeReply(a.answer(geo, '6.0.0.1')!))).toEqual(['192.0.2.6']);
      expect(data(decodeReply(b.answer(geo, '3.0.0.1')!))).toEqual(['192.0.2.3']);
    }
  });

  it('the plan cache follows the runtime: a new runtime answers from its own zones', () => {
    const other = new Runtime(
      buildSnapshot(parseConfigText(testConfig({ zones: STATIC_WWW_ELSEWHERE }), '/test/other.yaml')),
    );
    const plane = { runtime: rt };
    const ctx = new QueryContext(plane, new QueryCounters(), UDP);
    const www = buildQuery({ name: 'www.example.net', id: 2 });
    const n1 = handleQuery(ctx, www, www.length);
    expect(data(decodeReply(Buffer.from(ctx.out.subarray(0, n1))))).toEqual(['198.51.100.10']);
    plane.runtime = other; // what DataPlane.install does: one reference swap
    const n2 = handleQuery(ctx, www, www.length);
    expect(data(decodeReply(Buffer.from(ctx.out.subarray(0, n2))))).toEqual(['203.0.113.10']);
  });

  it("the answer is written at the transport's offset, its length returned, nothing else touched", () => {
    const slot = Buffer.alloc(8192, 0xee);
    const ctx = new QueryContext({ runtime: rt }, new QueryCounters(), UDP, slot);
    ctx.outOffset = 4096;
    ctx.source.setBytes(4, Uint8Array.of(6, 0, 0, 1), 0);
    const n = handleQuery(ctx, geo, geo.length);
    expect(n).toBeGreaterThan(12);
    expect(data(decodeReply(Buffer.from(slot.subarray(4096, 4096 + n))))).toEqual(['192.0.2.6']);
    expect([...slot.subarray(0, 4096)].every((x) => x === 0xee)).toBe(true);
    expect([...slot.subarray(4096 + n)].every((x) => x === 0xee)).toBe(true);
  });

  it('a packet that is not a query (QR=1) or a runt is dropped: length 0', () => {
    const ctx = new QueryContext({ runtime: rt }, new QueryCounters(), UDP);
    const response = Buffer.from(geo);
    response[2] |= 0x80;
    expect(handleQuery(ctx, response, response.length)).toBe(0);
    expect(handleQuery(ctx, geo, 11)).toBe(0);
    expect(ctx.counters.dropped[0]).toBe(2);
  });
});

const STATIC_WWW_ELSEWHERE = `
  - origin: example.net.
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [203.0.113.53] }
      www: { A: [203.0.113.10] }
`;
