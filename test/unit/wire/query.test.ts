/**
 * parseQuery outcomes (RFC 1035 4.1, RFC 6891 6.1, RFC 7871 6 / 7.2.1) on
 * hand-written messages: every malformed variant is spelled out byte by byte.
 */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { Outcome, ParsedQuery, parseQuery, type OutcomeCode } from '../../../src/wire/query.js';
import {
  CD,
  QR,
  RD,
  ecsOption,
  header,
  nameOfLabelLengths,
  opcodeBits,
  optRR,
  questionBytes,
  rawQuery,
  rr,
  wireName,
} from './build.js';

const OUTCOME_NAME: Record<number, string> = { 0: 'OK', 1: 'DROP', 2: 'FORMERR', 3: 'NOTIMP', 4: 'BADVERS' };

function parse(msg: Buffer, end = msg.length): { outcome: OutcomeCode; q: ParsedQuery } {
  const q = new ParsedQuery();
  const outcome = parseQuery(msg, end, q);
  return { outcome, q };
}

const validQuery = rawQuery();
const ednsQuery = (options: Parameters<typeof optRR>[0]) => rawQuery({ opt: options });

describe('parseQuery: DROP', () => {
  it.each<[string, Buffer]>([
    ['an empty packet', Buffer.alloc(0)],
    ['1 byte', Buffer.from([0x12])],
    ['11 bytes (one short of a header)', validQuery.subarray(0, 11)],
    ['a response (QR=1) that is otherwise a valid query', rawQuery({ flags: QR })],
    ['a response with RD and an OPT', rawQuery({ flags: QR | RD, opt: {} })],
    ['a response with qdcount 0', rawQuery({ flags: QR, qd: 0, question: Buffer.alloc(0) })],
    ['a response with a bad opcode', rawQuery({ flags: QR | opcodeBits(5) })],
  ])('%s', (_what, msg) => {
    expect(OUTCOME_NAME[parse(msg).outcome]).toBe('DROP');
  });

  it('honours the `end` argument rather than the buffer length', () => {
    const big = Buffer.concat([validQuery, Buffer.alloc(100)]);
    expect(parse(big, 11).outcome).toBe(Outcome.DROP);
    expect(parse(big, validQuery.length).outcome).toBe(Outcome.OK);
  });
});

describe('parseQuery: FORMERR', () => {
  const cases: Array<[string, Buffer]> = [
    ['a bare header (qdcount 1, no question)', header({})],
    ['qdcount 0', rawQuery({ qd: 0, question: Buffer.alloc(0) })],
    [
      'qdcount 2 with two questions',
      rawQuery({
        qd: 2,
        question: Buffer.concat([questionBytes('www.example.net'), questionBytes('mail.example.net')]),
      }),
    ],
    ['qdcount 65535', rawQuery({ qd: 0xffff })],
    ['a label of 64 octets', rawQuery({ question: questionBytes(nameOfLabelLengths([64, 3])) })],
    [
      'a label length byte 0x40 (extended label type)',
      rawQuery({ question: questionBytes(Buffer.from([0x40, 0x61, 0])) }),
    ],
    [
      'a label length byte 0x80 (reserved label type)',
      rawQuery({ question: questionBytes(Buffer.from([0x80, 0x61, 0])) }),
    ],
    ['a name of 256 octets', rawQuery({ question: questionBytes(nameOfLabelLengths([63, 63, 63, 62])) })],
    ['a name of 257 octets', rawQuery({ question: questionBytes(nameOfLabelLengths([63, 63, 63, 63])) })],
    [
      '128 one-octet labels (257 octets)',
      rawQuery({ question: questionBytes(nameOfLabelLengths(new Array(128).fill(1))) }),
    ],
    [
      'a compression pointer as the whole qname (self loop)',
      rawQuery({ question: questionBytes(Buffer.from([0xc0, 0x0c])) }),
    ],
    [
      'a compression pointer after a label',
      rawQuery({
        question: questionBytes(Buffer.concat([Buffer.from([3, 0x77, 0x77, 0x77]), Buffer.from([0xc0, 0x0c])])),
      }),
    ],
    ['a qname without its terminating root label', Buffer.concat([header({}), Buffer.from([3, 0x77, 0x77, 0x77])])],
    ['a label running past the end', Buffer.concat([header({}), Buffer.from([10, 0x61, 0x61])])],
    ['a question missing QTYPE/QCLASS', Buffer.concat([header({}), wireName('www.example.net')])],
    [
      'a question with 3 of 4 QTYPE/QCLASS bytes',
      Buffer.concat([header({}), wireName('www.example.net'), Buffer.from([0, 1, 0])]),
    ],
    ['QTYPE OPT (41)', rawQuery({ question: questionBytes('www.example.net', 41) })],
    ['an OPT record cut inside its fixed part', rawQuery({ opt: {} }).subarray(0, validQuery.length + 6)],
    ['an OPT record cut just before RDLENGTH', rawQuery({ opt: {} }).subarray(0, validQuery.length + 9)],
    ['an OPT record whose RDLENGTH runs past the end', ednsQuery({ rdlen: 10 })],
    [
      'an OPT option header cut short by RDLENGTH 3',
      ednsQuery({ options: [{ code: 10, data: Buffer.alloc(8) }], rdlen: 3 }),
    ],
    [
      'an OPT option header cut short by the end of the message',
      ednsQuery({ options: [{ code: 10, data: Buffer.alloc(8) }] }).subarray(0, validQuery.length + 11 + 3),
    ],
    ['an OPT option longer than RDLENGTH', ednsQuery({ options: [{ code: 10, data: Buffer.alloc(8) }], rdlen: 6 })],
    [
      'an OPT RDATA with 2 bytes left over after its option',
      Buffer.concat([ednsQuery({ options: [{ code: 10, data: Buffer.alloc(8) }], rdlen: 14 }), Buffer.from([0, 3])]),
    ],
    ['two OPT records', rawQuery({ ar: 2, trailer: Buffer.concat([optRR(), optRR()]) })],
    [
      'two OPT records, the second malformed',
      rawQuery({ ar: 2, trailer: Buffer.concat([optRR(), optRR({ rdlen: 50 })]) }),
    ],
    ['an OPT owned by a non-root name', ednsQuery({ owner: wireName('example.net') })],
    ['an OPT owned by a pointer to the qname', ednsQuery({ owner: Buffer.from([0xc0, 0x0c]) })],
    ['arcount larger than the records present', rawQuery({ ar: 1 })],
    ['arcount 2 with only the OPT present', rawQuery({ opt: {}, ar: 2 })],
    [
      'an answer record cut short',
      rawQuery({ an: 1, trailer: rr('www.example.net', 1, Buffer.from([1, 2, 3, 4])).subarray(0, 20) }),
    ],
    [
      'an authority record whose RDLENGTH runs past the end',
      rawQuery({ ns: 1, trailer: rr('example.net', 2, Buffer.from([1, 2, 3, 4])).subarray(0, 25) }),
    ],
    [
      'an additional record with a bad label type',
      rawQuery({ ar: 1, trailer: Buffer.from([0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]) }),
    ],
  ];
  it.each(cases)('%s', (_what, msg) => {
    const { outcome, q } = parse(msg);
    expect(OUTCOME_NAME[outcome]).toBe('FORMERR');
    expect(q.reason).not.toBe('');
  });

  it('keeps the header (ID, flags) valid for the error response', () => {
    const { outcome, q } = parse(rawQuery({ id: 0xbeef, flags: RD | CD, qd: 0, question: Buffer.alloc(0) }));
    expect(outcome).toBe(Outcome.FORMERR);
    expect(q.id).toBe(0xbeef);
    expect(q.flags).toBe(RD | CD);
    expect(q.hasQuestion).toBe(false);
  });

  it('keeps the question readable when the problem is after it', () => {
    const msg = ednsQuery({ options: [ecsOption(3, 24, 0, [10, 0, 0])] });
    const { outcome, q } = parse(msg);
    expect(outcome).toBe(Outcome.FORMERR);
    expect(q.hasQuestion).toBe(true);
    expect(q.questionEnd).toBe(12 + questionBytes('www.example.net').length);
  });

  it('accepts a name of exactly 255 octets (the limit) and 127 one-octet labels', () => {
    const n255 = nameOfLabelLengths([63, 63, 63, 61]);
    expect(n255.length).toBe(255);
    const a = parse(rawQuery({ question: questionBytes(n255) }));
    expect(OUTCOME_NAME[a.outcome]).toBe('OK');
    expect(a.q.qnameLength).toBe(255);
    const many = nameOfLabelLengths(new Array(127).fill(1));
    expect(many.length).toBe(255);
    const b = parse(rawQuery({ question: questionBytes(many) }));
    expect(OUTCOME_NAME[b.outcome]).toBe('OK');
    expect(b.q.labelCount).toBe(127);
  });

  it('accepts a label of exactly 63 octets', () => {
    expect(parse(rawQuery({ question: questionBytes(nameOfLabelLengths([63, 7])) })).outcome).toBe(Outcome.OK);
  });
});

describe('parseQuery: malformed ECS is FORMERR (RFC 7871 7.2.1)', () => {
  const cases: Array<[string, ReturnType<typeof ecsOption>[]]> = [
    ['FAMILY 3', [ecsOption(3, 24, 0, [192, 0, 2])]],
    ['FAMILY 0', [ecsOption(0, 0, 0, [])]],
    ['FAMILY 0x0101', [ecsOption(0x0101, 24, 0, [192, 0, 2])]],
    ['SOURCE 33 for IPv4', [ecsOption(1, 33, 0, [192, 0, 2, 1, 0])]],
    ['SOURCE 255 for IPv4', [ecsOption(1, 255, 0, new Array(32).fill(0))]],
    ['SOURCE 129 for IPv6', [ecsOption(2, 129, 0, new Array(17).fill(0))]],
    ['ADDRESS one octet too long (/24 with 4 octets)', [ecsOption(1, 24, 0, [192, 0, 2, 0])]],
    ['ADDRESS one octet too short (/24 with 2 octets)', [ecsOption(1, 24, 0, [192, 0])]],
    ['ADDRESS present with SOURCE 0', [ecsOption(1, 0, 0, [0])]],
    ['IPv6 /56 with 8 octets', [ecsOption(2, 56, 0, [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0])]],
    ['IPv6 /64 with 16 octets', [ecsOption(2, 64, 0, [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])]],
    ['bits set past SOURCE (/23 with .1 in the third octet)', [ecsOption(1, 23, 0, [10, 0, 1])]],
    ['bits set past SOURCE (/1 with 0xc0)', [ecsOption(1, 1, 0, [0xc0])]],
    ['bits set past SOURCE (IPv6 /33)', [ecsOption(2, 33, 0, [0x20, 1, 0x0d, 0xb8, 0x40])]],
    ['non-zero SCOPE (24)', [ecsOption(1, 24, 24, [192, 0, 2])]],
    ['non-zero SCOPE (1) with SOURCE 0', [ecsOption(1, 0, 1, [])]],
    ['option data shorter than 4 octets', [{ code: 8, data: Buffer.from([0, 1, 24]) }]],
    ['empty option data', [{ code: 8, data: Buffer.alloc(0) }]],
    ['two valid ECS options', [ecsOption(1, 24, 0, [192, 0, 2]), ecsOption(1, 24, 0, [192, 0, 2])]],
    [
      'a valid ECS followed by a different valid ECS',
      [ecsOption(1, 24, 0, [192, 0, 2]), ecsOption(2, 48, 0, [0x20, 1, 0x0d, 0xb8, 0, 1])],
    ],
  ];
  it.each(cases)('%s', (_what, options) => {
    const { outcome } = parse(ednsQuery({ options }));
    expect(OUTCOME_NAME[outcome]).toBe('FORMERR');
  });

  it.each<[string, ReturnType<typeof ecsOption>]>([
    ['IPv4 /24', ecsOption(1, 24, 0, [192, 0, 2])],
    ['IPv4 /32', ecsOption(1, 32, 0, [192, 0, 2, 1])],
    ['IPv4 /23 with the last bit clear', ecsOption(1, 23, 0, [10, 0, 2])],
    ['IPv4 /0 (client opted out)', ecsOption(1, 0, 0, [])],
    ['IPv6 /56', ecsOption(2, 56, 0, [0x20, 1, 0x0d, 0xb8, 0, 1, 2])],
    ['IPv6 /128', ecsOption(2, 128, 0, [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])],
    ['IPv6 /0', ecsOption(2, 0, 0, [])],
  ])('a well-formed ECS is OK: %s', (_what, ecs) => {
    const msg = ednsQuery({ options: [{ code: 65001, data: Buffer.from('x') }, ecs] });
    const { outcome, q } = parse(msg);
    expect(OUTCOME_NAME[outcome]).toBe('OK');
    expect(q.hasEcs).toBe(true);
    expect(q.ecsFamily).toBe(ecs.data[1]);
    expect(q.ecsSource).toBe(ecs.data[2]);
    expect(q.ecsLength).toBe(ecs.data.length);
    expect(Buffer.from(msg.subarray(q.ecsOffset, q.ecsOffset + q.ecsLength))).toEqual(ecs.data);
  });
});

describe('parseQuery: NOTIMP and BADVERS', () => {
  it.each([1, 2, 3, 4, 5, 6, 15])('opcode %i is NOTIMP', (op) => {
    const { outcome, q } = parse(rawQuery({ flags: opcodeBits(op) | RD }));
    expect(OUTCOME_NAME[outcome]).toBe('NOTIMP');
    expect(q.opcode).toBe(op);
    expect(q.hasQuestion).toBe(true);
  });

  it('opcode NOTIFY with an OPT record is NOTIMP', () => {
    expect(parse(rawQuery({ flags: opcodeBits(4), opt: {} })).outcome).toBe(Outcome.NOTIMP);
  });

  it('opcode UPDATE (qdcount is the zone count, 1) is NOTIMP', () => {
    expect(parse(rawQuery({ flags: opcodeBits(5), question: questionBytes('example.net', 6) })).outcome).toBe(
      Outcome.NOTIMP,
    );
  });

  it.each([1, 2, 255])('EDNS version %i is BADVERS', (version) => {
    const { outcome, q } = parse(ednsQuery({ version }));
    expect(OUTCOME_NAME[outcome]).toBe('BADVERS');
    expect(q.hasOpt).toBe(true);
    expect(q.ednsVersion).toBe(version);
    expect(q.hasQuestion).toBe(true);
  });

  it('EDNS version 1 with NSID still records the NSID request and DO bit', () => {
    const { outcome, q } = parse(
      ednsQuery({ version: 1, flags: 0x8000, options: [{ code: 3, data: Buffer.alloc(0) }] }),
    );
    expect(outcome).toBe(Outcome.BADVERS);
    expect(q.dnssecOk).toBe(true);
    expect(q.nsidRequested).toBe(true);
  });
});

describe('parseQuery: OK', () => {
  it('decodes the header and question of a plain query', () => {
    const msg = rawQuery({ id: 0xabcd, flags: RD | CD, question: questionBytes('WwW.ExAmPlE.nEt', 28, 1) });
    const { outcome, q } = parse(msg);
    expect(outcome).toBe(Outcome.OK);
    expect(q.id).toBe(0xabcd);
    expect(q.flags).toBe(RD | CD);
    expect(q.opcode).toBe(0);
    expect(q.qtype).toBe(28);
    expect(q.qclass).toBe(1);
    expect(q.labelCount).toBe(3);
    expect(q.qnameLength).toBe(17);
    expect(q.questionEnd).toBe(12 + 17 + 4);
    expect(Array.from(q.labelOffsets.subarray(0, 3))).toEqual([12, 16, 24]);
    expect(q.hasOpt).toBe(false);
    expect(q.hasEcs).toBe(false);
    expect(q.nsidRequested).toBe(false);
    expect(q.dnssecOk).toBe(false);
    // The qname is not copied: its bytes (and case) are still those of the message.
    expect(msg.subarray(12, 12 + q.qnameLength).toString('latin1')).toContain('WwW');
  });

  it('decodes the root name', () => {
    const { outcome, q } = parse(rawQuery({ question: questionBytes('.', 2) }));
    expect(outcome).toBe(Outcome.OK);
    expect(q.labelCount).toBe(0);
    expect(q.qnameLength).toBe(1);
  });

  it('reads the OPT fields: UDP size, version 0, DO bit', () => {
    const { outcome, q } = parse(ednsQuery({ udpSize: 4096, flags: 0x8000 }));
    expect(outcome).toBe(Outcome.OK);
    expect(q.hasOpt).toBe(true);
    expect(q.udpSize).toBe(4096);
    expect(q.ednsVersion).toBe(0);
    expect(q.dnssecOk).toBe(true);
  });

  it('DO is off when only other EDNS flag bits are set', () => {
    const { outcome, q } = parse(ednsQuery({ flags: 0x7fff }));
    expect(outcome).toBe(Outcome.OK);
    expect(q.dnssecOk).toBe(false);
  });

  it('detects an NSID request (RFC 5001: empty option)', () => {
    const { outcome, q } = parse(ednsQuery({ options: [{ code: 3, data: Buffer.alloc(0) }] }));
    expect(outcome).toBe(Outcome.OK);
    expect(q.nsidRequested).toBe(true);
  });

  it('ignores unknown EDNS options (RFC 6891 6.1.2)', () => {
    const options = [
      { code: 10, data: Buffer.from('0123456789abcdef', 'hex') }, // COOKIE
      { code: 12, data: Buffer.alloc(20) }, // PADDING
      { code: 65001, data: Buffer.from('hello') },
      { code: 0, data: Buffer.alloc(0) },
      { code: 65535, data: Buffer.alloc(300, 0xff) },
    ];
    const { outcome, q } = parse(ednsQuery({ options }));
    expect(outcome).toBe(Outcome.OK);
    expect(q.hasOpt).toBe(true);
    expect(q.hasEcs).toBe(false);
    expect(q.nsidRequested).toBe(false);
  });

  it('skips answer, authority and non-OPT additional records, with compressed owners', () => {
    const a = rr(Buffer.from([0xc0, 0x0c]), 1, Buffer.from([192, 0, 2, 1]));
    const ns = rr('example.net', 2, wireName('ns1.example.net'));
    const tsigLike = rr('key.example.net', 250, Buffer.alloc(30, 7), 0, 255);
    const msg = rawQuery({
      answers: [a],
      authorities: [ns],
      additionals: [tsigLike],
      opt: { options: [{ code: 3, data: Buffer.alloc(0) }] },
    });
    const { outcome, q } = parse(msg);
    expect(outcome).toBe(Outcome.OK);
    expect(q.hasOpt).toBe(true);
    expect(q.nsidRequested).toBe(true);
  });

  it('ignores trailing bytes after the last counted record', () => {
    expect(parse(rawQuery({ trailer: Buffer.from([1, 2, 3]) })).outcome).toBe(Outcome.OK);
  });

  it('agrees with dns-packet-built queries for common cases', () => {
    const msg = dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: 'mail.example.net', type: 'MX', class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1400,
          flags: dnsPacket.DNSSEC_OK,
          options: [{ code: 3, data: Buffer.alloc(0) }],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const { outcome, q } = parse(msg);
    expect(outcome).toBe(Outcome.OK);
    expect(q.qtype).toBe(15);
    expect(q.udpSize).toBe(1400);
    expect(q.dnssecOk).toBe(true);
    expect(q.nsidRequested).toBe(true);
  });

  it('a reused ParsedQuery forgets the previous query', () => {
    const q = new ParsedQuery();
    const first = ednsQuery({
      flags: 0x8000,
      options: [ecsOption(1, 24, 0, [192, 0, 2]), { code: 3, data: Buffer.alloc(0) }],
    });
    expect(parseQuery(first, first.length, q)).toBe(Outcome.OK);
    expect(q.hasEcs && q.nsidRequested && q.dnssecOk).toBe(true);
    const plain = rawQuery();
    expect(parseQuery(plain, plain.length, q)).toBe(Outcome.OK);
    expect(q.hasOpt).toBe(false);
    expect(q.hasEcs).toBe(false);
    expect(q.nsidRequested).toBe(false);
    expect(q.dnssecOk).toBe(false);
    expect(q.reason).toBe('');
  });
});
