/**
 * Fuzzing the real server: >100,000 random and mutated packets over UDP (in
 * batches, not waiting for each reply), a few thousand over TCP, then the
 * server must still answer correctly and never have hit an internal error.
 * Every reply must parse, have QR=1, echo the ID (and the question bytes) of
 * the packet it answers, and respect the UDP size limits. The same packets
 * also go through handleQuery in-process, which must never throw.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleQuery } from '../../src/query/handle-query.js';
import { QueryContext } from '../../src/query/context.js';
import { InProcessListener } from '../helpers/in-process.js';
import { TCP, UDP } from '../../src/wire/constants.js';
import { testConfig } from '../helpers/configs.js';
import { addresses, buildQuery, tcpQuery, udpQuery, until } from '../helpers/dns.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ecsOption, rawQuery, wireName, type EdnsOpt, type RawOpt } from '../unit/wire/build.js';

const UDP_PACKETS = 100_000;
const UDP_BATCH = 250;
const TCP_CONNECTIONS = 40;
const TCP_PER_CONNECTION = 100;
const SEED = Number(process.env.FUZZ_SEED ?? 20260101);

// ---------------------------------------------------------------- generators

const ZONE_NAMES = [
  'www.example.net',
  'WwW.ExAmPlE.NeT',
  'example.net',
  'cdn.example.net',
  'to-geo.example.net',
  'alias.example.net',
  'chain.example.net',
  'loop1.example.net',
  'dangling.example.net',
  'outside.example.net',
  'foo.wild.example.net',
  'a.b.wild.example.net',
  'host.wild.example.net',
  'sub.example.net',
  'x.y.sub.example.net',
  'big.example.net',
  'b.c.example.net',
  '_sip._tcp.example.net',
  'caa.example.net',
  '4.3.2.1.in-addr.example.net',
  'nope.example.net',
  'example.com',
  'net',
  '.',
  'id.server',
  'hostname.bind',
];
const QTYPES = [1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 43, 251, 252, 255, 257, 0, 65535];
const QCLASSES = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 4, 254, 255, 0];

const label = fc.oneof(
  fc.constantFrom('a', 'www', 'wild', 'sub', 'x', 'WWW', '*', '-', '_tcp'),
  fc.uint8Array({ minLength: 1, maxLength: 63 }).map((b) => Buffer.from(b).toString('latin1')),
);

/** A qname in wire form: a zone name, or random labels in front of one. */
const qnameArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ZONE_NAMES).map(wireName) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.array(label, { minLength: 1, maxLength: 6 }), fc.constantFrom(...ZONE_NAMES))
      .map(([labels, zone]) => {
        const parts = labels.map((l) => {
          const b = Buffer.from(l, 'latin1');
          return Buffer.concat([Buffer.from([b.length]), b]);
        });
        return Buffer.concat([...parts, wireName(zone)]);
      }),
  },
);

const validEcs: fc.Arbitrary<EdnsOpt> = fc
  .tuple(fc.constantFrom(1, 2), fc.nat(128), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean())
  .map(([family, src, addr, mapped]) => {
    const source = family === 1 ? src % 33 : src;
    const bytes = Buffer.from(addr);
    if (family === 2 && mapped) bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 0); // ::ffff:a.b.c.d
    const len = (source + 7) >> 3;
    const out = Array.from(bytes.subarray(0, len));
    if (source & 7) out[len - 1] &= 0xff << (8 - (source & 7));
    return ecsOption(family, source, 0, out);
  });

const randomEcs: fc.Arbitrary<EdnsOpt> = fc
  .tuple(fc.nat(3), fc.nat(255), fc.oneof(fc.constant(0), fc.nat(255)), fc.uint8Array({ maxLength: 20 }))
  .map(([family, source, scope, addr]) => ecsOption(family, source, scope, Array.from(addr)));

const optionArb: fc.Arbitrary<EdnsOpt> = fc.oneof(
  { weight: 4, arbitrary: validEcs },
  { weight: 1, arbitrary: randomEcs },
  { weight: 2, arbitrary: fc.constant({ code: 3, data: Buffer.alloc(0) }) },
  {
    weight: 2,
    arbitrary: fc.record({ code: fc.nat(65535), data: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) }),
  },
);

const optArb: fc.Arbitrary<RawOpt> = fc.record({
  udpSize: fc.oneof(fc.constantFrom(0, 512, 1232, 4096, 65535), fc.nat(65535)),
  version: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(255) }),
  flags: fc.constantFrom(0, 0x8000, 0xffff),
  options: fc.array(optionArb, { maxLength: 3 }),
});

const validQuery: fc.Arbitrary<Buffer> = fc
  .record({
    qname: qnameArb,
    qtype: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...QTYPES) }, { weight: 1, arbitrary: fc.nat(65535) }),
    qclass: fc.constantFrom(...QCLASSES),
    flags: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(0, 0x0100, 0x0110, 0x0020, 0x0400) },
      { weight: 1, arbitrary: fc.constantFrom(0x0800, 0x1000, 0x2000, 0x2800, 0x7800) }, // opcodes 1, 2, 4, 5, 15
      { weight: 1, arbitrary: fc.nat(0x7fff) },
    ),
    opt: fc.option(optArb, { freq: 2 }),
  })
  .map(({ qname, qtype, qclass, flags, opt }) => {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(qtype, 0);
    tail.writeUInt16BE(qclass, 2);
    return rawQuery({ flags, question: Buffer.concat([qname, tail]), opt });
  });

type Op =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; value: number }
  | { k: 'tail'; back: number; value: number }
  | { k: 'truncate'; len: number }
  | { k: 'count'; field: number; value: number }
  | { k: 'label'; pos: number; len: number }
  | { k: 'insert'; pos: number; bytes: Uint8Array }
  | { k: 'pointer'; pos: number; target: number }
  | { k: 'loop'; a: number; b: number }
  | { k: 'append'; bytes: Uint8Array; opt: boolean; rdlen: number | null };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat(7) }),
  fc.record({ k: fc.constant('tail' as const), back: fc.integer({ min: 1, max: 40 }), value: fc.nat(255) }),
  fc.record({ k: fc.constant('set' as const), pos: fc.nat(), value: fc.nat(255) }),
  fc.record({ k: fc.constant('truncate' as const), len: fc.nat() }),
  fc.record({ k: fc.constant('count' as const), field: fc.nat(3), value: fc.oneof(fc.nat(4), fc.nat(65535)) }),
  fc.record({ k: fc.constant('label' as const), pos: fc.nat(), len: fc.oneof(fc.nat(70), fc.nat(255)) }),
  fc.record({ k: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({
    k: fc.constant('pointer' as const),
    pos: fc.nat(),
    target: fc.oneof(fc.constant(-1), fc.nat(64), fc.nat(0x3fff)),
  }),
  fc.record({ k: fc.constant('loop' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({
    k: fc.constant('append' as const),
    bytes: fc.uint8Array({ maxLength: 40 }),
    opt: fc.boolean(),
    rdlen: fc.option(fc.nat(65535)),
  }),
);

function mutate(base: Buffer, ops: Op[]): Buffer {
  let b = Buffer.from(base);
  for (const op of ops) {
    const n = b.length;
    switch (op.k) {
      case 'flip':
        if (n) b[op.pos % n] ^= 1 << op.bit;
        break;
      case 'set':
        if (n) b[op.pos % n] = op.value;
        break;
      case 'tail':
        // A byte near the end: the OPT record and its options, or QTYPE/QCLASS.
        if (n > op.back) b[n - op.back] = op.value;
        break;
      case 'truncate':
        b = b.subarray(0, op.len % (n + 1));
        break;
      case 'count':
        if (n >= 12) b.writeUInt16BE(op.value, 4 + 2 * op.field);
        break;
      case 'label': {
        // Overwrite a byte where a label length is likely: inside the question name.
        if (n > 12) b[12 + (op.pos % Math.min(n - 12, 40))] = op.len;
        break;
      }
      case 'insert': {
        const at = op.pos % (n + 1);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(op.bytes), b.subarray(at)]);
        break;
      }
      case 'pointer': {
        if (n < 2) break;
        const at = op.pos % (n - 1);
        const target = op.target < 0 ? at : op.target;
        b[at] = 0xc0 | ((target >> 8) & 0x3f);
        b[at + 1] = target & 0xff;
        break;
      }
      case 'loop': {
        // Two pointers pointing at each other.
        if (n < 4) break;
        const a = op.a % (n - 1);
        let c = op.b % (n - 1);
        if (Math.abs(a - c) < 2) c = a + 2 < n - 1 ? a + 2 : Math.max(0, a - 2);
        if (Math.abs(a - c) < 2) break;
        b[a] = 0xc0 | ((c >> 8) & 0x3f);
        b[a + 1] = c & 0xff;
        b[c] = 0xc0 | ((a >> 8) & 0x3f);
        b[c + 1] = a & 0xff;
        break;
      }
      case 'append': {
        let rec: Buffer;
        if (op.opt) {
          const fixed = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
          fixed.writeUInt16BE(op.rdlen ?? op.bytes.length, 9);
          rec = Buffer.concat([fixed, Buffer.from(op.bytes)]);
        } else {
          const fixed = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 0]);
          fixed.writeUInt16BE(op.rdlen ?? op.bytes.length, 10);
          rec = Buffer.concat([fixed, Buffer.from(op.bytes)]);
        }
        b = Buffer.concat([b, rec]);
        if (b.length >= 12) b.writeUInt16BE((b.readUInt16BE(10) + 1) & 0xffff, 10);
        break;
      }
    }
  }
  return b;
}

const packetArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), qnameArb)
      .map(([h, q]) => Buffer.concat([Buffer.from(h), q])),
  },
  { weight: 4, arbitrary: validQuery },
  {
    weight: 8,
    arbitrary: fc.tuple(validQuery, fc.array(opArb, { minLength: 1, maxLength: 3 })).map(([q, ops]) => mutate(q, ops)),
  },
);

// ---------------------------------------------------------------- checks

/** End of the question section in a reply (plain labels only), or -1. */
function questionEnd(raw: Buffer): number {
  let off = 12;
  for (let guard = 0; guard < 130; guard++) {
    if (off >= raw.length) return -1;
    const len = raw[off];
    if (len === 0) return off + 1 + 4 <= raw.length ? off + 1 + 4 : -1;
    if (len > 63) return -1;
    off += 1 + len;
  }
  return -1;
}

const hex = (b: Buffer) => b.toString('hex');
const ALLOWED_RCODES = [0, 1, 3, 4, 5, 16];

/** Problems with `reply` as the answer to `query` over `transport` (empty = fine). */
interface Stats {
  rcodes: Map<number, number>;
  truncated: number;
  withAnswers: number;
}
const newStats = (): Stats => ({ rcodes: new Map(), truncated: 0, withAnswers: 0 });

function replyProblems(reply: Buffer, query: Buffer, transport: 'udp' | 'tcp', stats?: Stats): string[] {
  const problems: string[] = [];
  const say = (m: string) => problems.push(`${transport}: ${m}; query=${hex(query)} reply=${hex(reply)}`);
  if (query.length < 12) say('a reply to a packet shorter than a header');
  if (query.length >= 2 && query[2] & 0x80) say('a reply to a packet with QR=1');
  if (reply.length < 12) {
    say('reply shorter than a header');
    return problems;
  }
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(reply);
  } catch (err) {
    say(`dns-packet cannot decode the reply: ${(err as Error).message}`);
    return problems;
  }
  if ((reply[2] & 0x80) === 0) say('QR=0 in the reply');
  if (reply.readUInt16BE(0) !== query.readUInt16BE(0)) say('ID not echoed');
  if (((reply[2] >> 3) & 0xf) !== ((query[2] >> 3) & 0xf)) say('opcode not echoed');
  if ((reply[2] & 0x01) !== (query[2] & 0x01)) say('RD not copied');
  const opt = (packet.additionals ?? []).find((a) => a.type === 'OPT') as unknown as
    | { extendedRcode: number }
    | undefined;
  const rcode = ((opt?.extendedRcode ?? 0) << 4) | (reply[3] & 0xf);
  if (!ALLOWED_RCODES.includes(rcode)) say(`unexpected rcode ${rcode}`);
  if (stats) {
    stats.rcodes.set(rcode, (stats.rcodes.get(rcode) ?? 0) + 1);
    if (reply[2] & 0x02) stats.truncated++;
    if ((packet.answers ?? []).length > 0) stats.withAnswers++;
  }
  const qd = reply.readUInt16BE(4);
  if (qd > 1) say(`qdcount ${qd}`);
  if (qd === 1) {
    const end = questionEnd(reply);
    if (end < 0) say('unreadable question in the reply');
    else if (end > query.length || Buffer.compare(reply.subarray(12, end), query.subarray(12, end)) !== 0)
      say('question not echoed byte for byte');
  }
  if (transport === 'udp') {
    if (reply.length > 1232) say(`UDP reply of ${reply.length} bytes > 1232`);
    if (!opt && reply.length > 512) say(`UDP reply without OPT of ${reply.length} bytes > 512`);
  }
  return problems;
}

// ---------------------------------------------------------------- the tests

let t: TestServer;
beforeAll(async () => {
  t = await startServer(testConfig());
});
afterAll(() => t.close());

function sentinel(id: number): Buffer {
  return buildQuery({ name: 'sentinel.fuzz.example.net', type: 'TXT', id });
}
function isSentinelReply(raw: Buffer, id: number): boolean {
  if (raw.length < 12 || raw.readUInt16BE(0) !== id) return false;
  try {
    return dnsPacket.decode(raw).questions?.[0]?.name === 'sentinel.fuzz.example.net';
  } catch {
    return false;
  }
}

describe('fuzzing the real server', () => {
  it(`survives ${UDP_PACKETS} random and mutated UDP packets and answers them sanely`, async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.setRecvBufferSize(4 * 1024 * 1024);
    sock.setSendBufferSize(4 * 1024 * 1024);
    let inbox: Buffer[] = [];
    sock.on('message', (m) => inbox.push(m));
    const send = (b: Buffer) => sock.send(b, t.port, '127.0.0.1');

    const internalBefore = t.server.counters.internalErrors;
    const problems: string[] = [];
    const inProcess: string[] = [];
    const listeners = {
      [UDP]: new InProcessListener(t.server.data, t.server.counters, UDP),
      [TCP]: new InProcessListener(t.server.data, t.server.counters, TCP),
    };
    const stats = newStats();
    let sent = 0;
    let replies = 0;
    let nextId = 1;
    const all = fc.sample(packetArb, { numRuns: UDP_PACKETS, seed: SEED });
    try {
      for (let start = 0; start < all.length; start += UDP_BATCH) {
        const batch = all.slice(start, start + UDP_BATCH);
        const byId = new Map<number, Buffer>();
        for (const pkt of batch) {
          if (pkt.length >= 2) {
            const id = nextId++ & 0xffff;
            pkt.writeUInt16BE(id, 0); // unique within the batch, so a reply names its query
            byId.set(id, pkt);
          }
          send(pkt);
          sent++;
        }
        const sid = nextId++ & 0xffff;
        const sq = sentinel(sid);
        let lastSentinel = 0;
        await until(
          () => {
            if (Date.now() - lastSentinel > 500) {
              send(sq);
              lastSentinel = Date.now();
            }
            return inbox.some((m) => isSentinelReply(m, sid));
          },
          `the sentinel reply after packet ${start + batch.length}`,
          10_000,
          2,
        );
        const got = inbox;
        inbox = [];
        const answered = new Set<number>();
        for (const raw of got) {
          if (raw.length >= 12 && isSentinelReply(raw, raw.readUInt16BE(0))) continue;
          replies++;
          const id = raw.length >= 2 ? raw.readUInt16BE(0) : -1;
          const query = byId.get(id);
          if (!query) {
            problems.push(`udp: reply with an ID (${id}) not sent in this batch: ${hex(raw)}`);
            continue;
          }
          if (answered.has(id)) problems.push(`udp: two replies to one query ${hex(query)}`);
          answered.add(id);
          problems.push(...replyProblems(raw, query, 'udp', stats));
        }
        // The same packets, in-process through handleQuery.
        for (const pkt of batch) {
          for (const transport of [UDP, TCP] as const) {
            let out: Buffer | null;
            try {
              out = listeners[transport].answer(pkt, transport === UDP ? '127.0.0.1' : '::1');
            } catch (err) {
              inProcess.push(`handleQuery threw ${(err as Error).message} on ${hex(pkt)}`);
              continue;
            }
            if (out === null) continue;
            if (!Buffer.isBuffer(out)) inProcess.push(`handleQuery returned ${typeof out}`);
            else
              inProcess.push(
                ...replyProblems(out, pkt, transport === UDP ? 'udp' : 'tcp').map((p) => `in-process ${p}`),
              );
          }
        }
        if (problems.length + inProcess.length > 50) break;
      }
    } finally {
      sock.close();
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(inProcess.slice(0, 10)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(UDP_PACKETS);
    expect(replies).toBeGreaterThan(UDP_PACKETS / 4);
    expect(t.server.counters.internalErrors - internalBefore).toBe(0);
    // The generator reaches every outcome: answers, FORMERR, NXDOMAIN, NOTIMP, REFUSED, BADVERS, truncation.
    for (const rcode of ALLOWED_RCODES)
      expect(stats.rcodes.get(rcode) ?? 0, `replies with rcode ${rcode}`).toBeGreaterThan(50);
    expect(stats.withAnswers).toBeGreaterThan(500);
    expect(stats.truncated).toBeGreaterThan(5);
  }, 120_000);

  it(`survives ${TCP_CONNECTIONS * TCP_PER_CONNECTION} fuzzed messages pipelined over TCP`, async () => {
    const internalBefore = t.server.counters.internalErrors;
    const problems: string[] = [];
    let replies = 0;
    const packets = fc
      .sample(packetArb, { numRuns: TCP_CONNECTIONS * TCP_PER_CONNECTION, seed: SEED + 1 })
      .filter((p) => p.length > 0);
    for (let c = 0; c < TCP_CONNECTIONS; c++) {
      const batch = packets.slice(c * TCP_PER_CONNECTION, (c + 1) * TCP_PER_CONNECTION);
      const byId = new Map<number, Buffer>();
      batch.forEach((p, i) => {
        if (p.length >= 2) {
          p.writeUInt16BE(i + 1, 0);
          byId.set(i + 1, p);
        }
      });
      const sid = 0xfff0;
      const frames = Buffer.concat(
        [...batch, sentinel(sid)].map((m) => {
          const h = Buffer.alloc(2);
          h.writeUInt16BE(m.length, 0);
          return Buffer.concat([h, m]);
        }),
      );
      const got = await new Promise<{ replies: Buffer[]; closedEarly: boolean }>((resolve, reject) => {
        const sock = net.connect({ port: t.port, host: '127.0.0.1' });
        const out: Buffer[] = [];
        let buf = Buffer.alloc(0);
        let done = false;
        const finish = (closedEarly: boolean) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          sock.destroy();
          resolve({ replies: out, closedEarly });
        };
        const timer = setTimeout(() => finish(true), 10_000);
        sock.on('connect', () => sock.write(frames));
        sock.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
            buf = buf.subarray(2 + m.length);
            if (isSentinelReply(m, sid)) return finish(false);
            out.push(m);
          }
        });
        sock.on('error', (e) => (done ? undefined : reject(e)));
        sock.on('close', () => finish(true));
      });
      if (got.closedEarly) problems.push(`tcp: connection ${c} closed or stalled before the sentinel was answered`);
      const answered = new Set<number>();
      for (const raw of got.replies) {
        replies++;
        const id = raw.readUInt16BE(0);
        const query = byId.get(id);
        if (!query) {
          problems.push(`tcp: reply with an ID (${id}) not sent: ${hex(raw)}`);
          continue;
        }
        if (answered.has(id)) problems.push(`tcp: two replies to one query ${hex(query)}`);
        answered.add(id);
        problems.push(...replyProblems(raw, query, 'tcp'));
      }
      if (problems.length > 50) break;
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(replies).toBeGreaterThan((TCP_CONNECTIONS * TCP_PER_CONNECTION) / 4);
    expect(t.server.counters.internalErrors - internalBefore).toBe(0);
  }, 60_000);

  it('survives raw garbage byte streams over TCP', async () => {
    const streams = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { numRuns: 200, seed: SEED + 2 });
    await Promise.all(
      streams.map(
        (s) =>
          new Promise<void>((resolve) => {
            const sock = net.connect({ port: t.port, host: '127.0.0.1' });
            sock.on('connect', () => sock.end(Buffer.from(s)));
            sock.on('data', () => undefined);
            sock.on('error', () => undefined);
            sock.on('close', () => resolve());
            // The server closes on a bad frame or after answering; our own end() half-closes.
            setTimeout(() => sock.destroy(), 5000).unref();
          }),
      ),
    );
    await until(() => t.server.tcpStats.open === 0, 'all fuzz connections to be closed by the server', 10_000);
  }, 60_000);

  it('in-process: handleQuery never throws and returns a sendable length (0 = drop) for any bytes and client address', () => {
    const internalBefore = t.server.counters.internalErrors;
    const contexts = {
      [UDP]: new QueryContext(t.server.data, t.server.counters, UDP),
      [TCP]: new QueryContext(t.server.data, t.server.counters, TCP),
    };
    fc.assert(
      fc.property(
        packetArb,
        fc.constantFrom(UDP, TCP),
        fc.constantFrom('127.0.0.1', '::1', '198.51.100.7', '2001:db8::1', '::ffff:192.0.2.1', '6.0.1.1'),
        (pkt, transport, client) => {
          const ctx = contexts[transport];
          ctx.source.setText(client);
          const n = handleQuery(ctx, pkt, pkt.length);
          // A length the transport can send (0 = drop), within one DNS message.
          expect(Number.isInteger(n) && n >= 0 && n <= 65535).toBe(true);
          const out = n === 0 ? null : Buffer.from(ctx.out.subarray(0, n));
          if (out !== null) expect(replyProblems(out, pkt, transport === UDP ? 'udp' : 'tcp')).toEqual([]);
        },
      ),
      { numRuns: 20_000, seed: SEED + 3 },
    );
    expect(t.server.counters.internalErrors - internalBefore).toBe(0);
  });

  it('after the fuzzing the server still answers valid queries correctly over UDP and TCP', async () => {
    for (const q of [udpQuery, tcpQuery]) {
      const r = await q(t.port, { name: 'www.example.net', type: 'A' });
      expect(r.rcode).toBe(0);
      expect(r.flags.aa).toBe(true);
      expect(addresses(r)).toEqual(['198.51.100.10']);
      const nx = await q(t.port, { name: 'nope.example.net', type: 'A', nsid: true });
      expect(nx.rcode).toBe(3);
      expect(nx.nsid).toBe('test-instance');
    }
    expect(t.server.data.udp).toHaveLength(1);
    expect(t.server.data.tcp).toHaveLength(1);
    expect(t.server.counters.internalErrors).toBe(0);
  });
});
