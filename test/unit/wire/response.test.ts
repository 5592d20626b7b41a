/**
 * writeResponse: header bits, question echo, OPT (ECS echo, NSID, extended
 * rcode, DO) and truncation (RFC 1035 4.1.1, RFC 6891 6.1.3 / 7, RFC 7871
 * 7.2.1, RFC 5001, RFC 2181 9, RFC 9471), decoded with dns-packet and by hand.
 */
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Outcome, ParsedQuery, parseQuery } from '../../../src/wire/query.js';
import { joinSections, writeResponse, type EdnsSettings, type Sections } from '../../../src/wire/response.js';
import {
  AD,
  CD,
  QR,
  RD,
  TC,
  ecsOption,
  headerOf,
  opcodeBits,
  questionBytes,
  rawQuery,
  rr,
  wireName,
  type RawOpt,
} from './build.js';

/** An empty section set with a bare rcode (errors, REFUSED). */
function bareSections(rcode: number, aa = false): Sections {
  const empty = new Uint8Array(0);
  return {
    rcode,
    aa,
    answer: empty,
    anCount: 0,
    authority: empty,
    nsCount: 0,
    additional: empty,
    arCount: 0,
    additionalRequired: false,
    rest: empty,
    all: empty,
  };
}

const EDNS: EdnsSettings = { udpMax: 1232, nsid: Buffer.from('test-nsid') };
const NSID_OPT = { code: 3, data: Buffer.alloc(0) };

/** An A record owned by the question name (pointer 0xC00C). */
function aAtQname(ip: number[], ttl = 300): Buffer {
  return rr(Buffer.from([0xc0, 0x0c]), 1, Buffer.from(ip), ttl);
}

function sections(
  o: Partial<Sections> & { answers?: Buffer[]; authorities?: Buffer[]; additionals?: Buffer[] } = {},
): Sections {
  const answers = o.answers ?? [];
  const authorities = o.authorities ?? [];
  const additionals = o.additionals ?? [];
  const s = {
    ...bareSections(o.rcode ?? 0, o.aa ?? true),
    answer: o.answer ?? Buffer.concat(answers),
    anCount: o.anCount ?? answers.length,
    authority: o.authority ?? Buffer.concat(authorities),
    nsCount: o.nsCount ?? authorities.length,
    additional: o.additional ?? Buffer.concat(additionals),
    arCount: o.arCount ?? additionals.length,
    additionalRequired: o.additionalRequired ?? false,
  };
  return { ...s, ...joinSections(s) }; // the pre-joined copies the hot path writes in one go
}

interface Written {
  raw: Buffer;
  h: ReturnType<typeof headerOf>;
  packet: dnsPacket.DecodedPacket;
  opt: {
    udpPayloadSize: number;
    extendedRcode: number;
    ednsVersion: number;
    flags: number;
    options: Array<{ code: number; data: Buffer }>;
  } | null;
  q: ParsedQuery;
}

function write(
  query: Buffer,
  s: Sections,
  o: {
    tail?: Uint8Array | null;
    tailCount?: number;
    scope?: number;
    limit?: number;
    edns?: EdnsSettings;
    expectOutcome?: number;
  } = {},
): Written {
  const q = new ParsedQuery();
  const outcome = parseQuery(query, query.length, q);
  expect(outcome).toBe(o.expectOutcome ?? Outcome.OK);
  // Written into a slot of a larger buffer (as the batched path does): nothing outside the
  // returned length may change.
  const at = 7;
  const out = Buffer.alloc(at + 65536, 0xab);
  const n = writeResponse(
    out,
    at,
    query,
    q,
    s,
    o.tail ?? null,
    o.tailCount ?? 0,
    o.scope ?? 0,
    o.limit ?? 65535,
    o.edns ?? EDNS,
  );
  expect(n).toBeGreaterThanOrEqual(12);
  expect([...out.subarray(0, at)].every((b) => b === 0xab)).toBe(true);
  expect([...out.subarray(at + n)].every((b) => b === 0xab)).toBe(true);
  const raw = Buffer.from(out.subarray(at, at + n));
  const packet = dnsPacket.decode(raw);
  const optRec = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
  expect(optRec.length).toBeLessThanOrEqual(1);
  return { raw, h: headerOf(raw), packet, opt: (optRec[0] as unknown as Written['opt']) ?? null, q };
}

describe('writeResponse: header', () => {
  it.each<[string, number, boolean]>([
    ['no flags, AA', 0, true],
    ['RD, AA', RD, true],
    ['CD, not AA', CD, false],
    ['RD|CD', RD | CD, true],
    ['AD and Z set in the query', AD | 0x0040, true],
    ['TC and AA set in the query, not AA in the answer', TC | 0x0400, false],
    ['RA set in the query', 0x0080 | RD, true],
  ])('%s', (_what, flags, aa) => {
    const query = rawQuery({ id: 0x4242, flags });
    const { h } = write(query, sections({ aa, answers: [aAtQname([192, 0, 2, 1])] }));
    expect(h.id).toBe(0x4242);
    expect(h.qr).toBe(true);
    expect(h.opcode).toBe(0);
    expect(h.aa).toBe(aa);
    expect(h.tc).toBe(false);
    expect(h.rd).toBe((flags & RD) !== 0);
    expect(h.cd).toBe((flags & CD) !== 0);
    expect(h.ra).toBe(false);
    expect(h.z).toBe(false);
    expect(h.ad).toBe(false);
    expect(h.rcode).toBe(0);
    expect(h.qd).toBe(1);
    expect(h.an).toBe(1);
  });

  it.each([1, 2, 4, 5, 15])('copies opcode %i into a NOTIMP reply', (op) => {
    const query = rawQuery({ flags: opcodeBits(op) | RD });
    const { h } = write(query, bareSections(4), { expectOutcome: Outcome.NOTIMP });
    expect(h.qr).toBe(true);
    expect(h.opcode).toBe(op);
    expect(h.rd).toBe(true);
    expect(h.rcode).toBe(4);
    expect(h.aa).toBe(false);
  });

  it.each([0, 1, 2, 3, 4, 5])('rcode %i goes into the header (no OPT)', (rcode) => {
    const { h, opt } = write(rawQuery(), bareSections(rcode));
    expect(h.rcode).toBe(rcode);
    expect(opt).toBeNull();
    expect(h.ar).toBe(0);
  });

  it.each([0, 3, 5])('rcode %i with an OPT: extended rcode 0', (rcode) => {
    const { h, opt } = write(rawQuery({ opt: {} }), bareSections(rcode));
    expect(h.rcode).toBe(rcode);
    expect(opt?.extendedRcode).toBe(0);
  });

  it('BADVERS (16): header rcode 0, OPT extended rcode 1, OPT version 0', () => {
    const query = rawQuery({ opt: { version: 1, udpSize: 4096 } });
    const { h, opt, raw } = write(query, bareSections(16), { expectOutcome: Outcome.BADVERS });
    expect(h.rcode).toBe(0);
    expect(opt).not.toBeNull();
    expect(opt!.extendedRcode).toBe(1);
    expect(opt!.ednsVersion).toBe(0);
    expect((opt!.extendedRcode << 4) | h.rcode).toBe(16);
    expect(opt!.udpPayloadSize).toBe(1232);
    // TTL field of the OPT, by hand: ext-rcode 1, version 0, flags 0.
    expect(Array.from(raw.subarray(raw.length - 6, raw.length - 2))).toEqual([1, 0, 0, 0]);
  });
});

describe('writeResponse: question', () => {
  it.each<[string, Buffer]>([
    ['mixed case', questionBytes('WwW.ExAmPlE.nEt', 1)],
    ['upper case with AAAA', questionBytes('MAIL.EXAMPLE.NET', 28)],
    ['odd bytes in labels', questionBytes(Buffer.from([3, 0xff, 0x2e, 0x41, 4, 0x00, 0x20, 0x5a, 0x7a, 0]), 16, 1)],
    ['the root', questionBytes('.', 2)],
    ['class CH', questionBytes('ID.SERVER', 16, 3)],
  ])('is copied byte for byte: %s', (_what, question) => {
    const query = rawQuery({ question });
    const { raw, h } = write(query, sections({ answers: [aAtQname([192, 0, 2, 7])] }));
    expect(h.qd).toBe(1);
    expect(Buffer.compare(raw.subarray(12, 12 + question.length), question)).toBe(0);
  });

  it('the answer owner (pointer to the question) decodes as the qname as sent', () => {
    const { packet } = write(
      rawQuery({ question: questionBytes('WwW.ExAmPlE.nEt') }),
      sections({ answers: [aAtQname([192, 0, 2, 7])] }),
    );
    expect(packet.questions?.[0].name).toBe('WwW.ExAmPlE.nEt');
    expect(packet.answers?.[0].name).toBe('WwW.ExAmPlE.nEt');
    expect((packet.answers?.[0] as { data?: string } | undefined)?.data).toBe('192.0.2.7');
  });

  it('a FORMERR for qdcount 0 has no question and keeps the ID', () => {
    const query = rawQuery({ id: 0x0102, qd: 0, question: Buffer.alloc(0) });
    const { raw, h } = write(query, bareSections(1), { expectOutcome: Outcome.FORMERR });
    expect(h.id).toBe(0x0102);
    expect(h.qd).toBe(0);
    expect(h.rcode).toBe(1);
    expect(raw.length).toBe(12);
  });

  it('a FORMERR for qdcount 2 has no question', () => {
    const query = rawQuery({
      qd: 2,
      question: Buffer.concat([questionBytes('a.example.net'), questionBytes('b.example.net')]),
    });
    const { h } = write(query, bareSections(1), { expectOutcome: Outcome.FORMERR });
    expect(h.qd).toBe(0);
    expect(h.rcode).toBe(1);
  });
});

describe('writeResponse: OPT', () => {
  it('no OPT in the reply when the query had none', () => {
    const { opt, h } = write(rawQuery(), sections({ answers: [aAtQname([192, 0, 2, 1])] }));
    expect(opt).toBeNull();
    expect(h.ar).toBe(0);
  });

  it.each<[string, RawOpt]>([
    ['plain EDNS 1232', {}],
    ['bufsize 512', { udpSize: 512 }],
    ['bufsize 4096', { udpSize: 4096 }],
    ['bufsize 0', { udpSize: 0 }],
    ['unknown option', { options: [{ code: 65001, data: Buffer.from('abc') }] }],
  ])('an OPT with our UDP size, version 0, no options when none apply: %s', (_what, o) => {
    const { opt, h } = write(rawQuery({ opt: o }), sections({ answers: [aAtQname([192, 0, 2, 1])] }));
    expect(opt).not.toBeNull();
    expect(h.ar).toBe(1);
    expect(opt!.udpPayloadSize).toBe(1232);
    expect(opt!.ednsVersion).toBe(0);
    expect(opt!.extendedRcode).toBe(0);
    expect(opt!.options).toEqual([]);
  });

  it.each([4, 5])('a NOTIMP reply (opcode %i) to a query with an OPT carries an OPT (RFC 6891 section 7)', (op) => {
    const query = rawQuery({ flags: opcodeBits(op), opt: { flags: 0x8000 } });
    const { h, opt } = write(query, bareSections(4), { expectOutcome: Outcome.NOTIMP });
    expect(h.rcode).toBe(4);
    expect(opt).not.toBeNull();
    expect(opt?.udpPayloadSize).toBe(1232);
  });

  it('advertises the configured udpMax', () => {
    const { opt } = write(rawQuery({ opt: {} }), bareSections(0), { edns: { udpMax: 1400, nsid: Buffer.alloc(0) } });
    expect(opt!.udpPayloadSize).toBe(1400);
  });

  it.each([
    [0x8000, 0x8000],
    [0x0000, 0x0000],
    [0xffff, 0x8000],
    [0x7fff, 0x0000],
  ])('EDNS flags %i in the query -> %i in the reply (DO copied, other bits zero)', (inFlags, outFlags) => {
    const { opt } = write(rawQuery({ opt: { flags: inFlags } }), bareSections(0));
    expect(opt!.flags).toBe(outFlags);
  });

  it.each<[string, ReturnType<typeof ecsOption>, number]>([
    ['IPv4 /24, scope 16', ecsOption(1, 24, 0, [198, 51, 100]), 16],
    ['IPv4 /32, scope 32', ecsOption(1, 32, 0, [198, 51, 100, 7]), 32],
    ['IPv4 /0, scope 0', ecsOption(1, 0, 0, []), 0],
    ['IPv6 /56, scope 48', ecsOption(2, 56, 0, [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56]), 48],
    ['IPv6 /23, scope 20', ecsOption(2, 23, 0, [0x20, 0x01, 0x0c]), 20],
  ])('echoes ECS with FAMILY, SOURCE, ADDRESS as received and SCOPE set: %s', (_what, ecs, scope) => {
    const { opt } = write(rawQuery({ opt: { options: [ecs] } }), sections({ answers: [aAtQname([192, 0, 2, 1])] }), {
      scope,
    });
    const echoed = opt!.options.filter((o) => o.code === 8);
    expect(echoed).toHaveLength(1);
    const d = echoed[0].data;
    expect(d.length).toBe(ecs.data.length);
    expect(d.readUInt16BE(0)).toBe(ecs.data.readUInt16BE(0));
    expect(d[2]).toBe(ecs.data[2]);
    expect(d[3]).toBe(scope);
    expect(Buffer.compare(d.subarray(4), ecs.data.subarray(4))).toBe(0);
  });

  it('does not echo ECS on FORMERR (the option may be what was wrong)', () => {
    const { opt } = write(rawQuery({ opt: { options: [ecsOption(1, 24, 0, [198, 51, 100])] } }), bareSections(1));
    expect(opt).not.toBeNull();
    expect(opt!.options.filter((o) => o.code === 8)).toEqual([]);
  });

  it('echoes ECS with SCOPE 0 on REFUSED and on BADVERS', () => {
    for (const [query, rcode, outcome] of [
      [rawQuery({ opt: { options: [ecsOption(1, 24, 0, [198, 51, 100])] } }), 5, Outcome.OK],
      [rawQuery({ opt: { version: 1, options: [ecsOption(1, 24, 0, [198, 51, 100])] } }), 16, Outcome.BADVERS],
    ] as const) {
      const { opt } = write(query, bareSections(rcode), { expectOutcome: outcome });
      const ecs = opt!.options.filter((o) => o.code === 8);
      expect(ecs).toHaveLength(1);
      expect(ecs[0].data[3]).toBe(0);
    }
  });

  it('answers NSID with the identity only when requested', () => {
    const asked = write(rawQuery({ opt: { options: [NSID_OPT] } }), bareSections(0));
    expect(asked.opt!.options).toHaveLength(1);
    expect(asked.opt!.options[0].code).toBe(3);
    expect(asked.opt!.options[0].data.toString()).toBe('test-nsid');
    const notAsked = write(rawQuery({ opt: {} }), bareSections(0));
    expect(notAsked.opt!.options.filter((o) => o.code === 3)).toEqual([]);
  });

  it('no NSID when the identity is empty', () => {
    const { opt } = write(rawQuery({ opt: { options: [NSID_OPT] } }), bareSections(0), {
      edns: { udpMax: 1232, nsid: Buffer.alloc(0) },
    });
    expect(opt!.options).toEqual([]);
  });

  it('NSID and ECS together', () => {
    const { opt } = write(
      rawQuery({ opt: { options: [NSID_OPT, ecsOption(1, 24, 0, [198, 51, 100])] } }),
      bareSections(0),
      { scope: 8 },
    );
    const codes = opt!.options.map((o) => o.code).sort();
    expect(codes).toEqual([3, 8]);
    expect(opt!.options.find((o) => o.code === 8)!.data[3]).toBe(8);
    expect(opt!.options.find((o) => o.code === 3)!.data.toString()).toBe('test-nsid');
  });
});

describe('writeResponse: sections and truncation', () => {
  const answers = [aAtQname([192, 0, 2, 1]), aAtQname([192, 0, 2, 2])];
  const authorities = [
    rr('example.net', 2, wireName('ns1.example.net')),
    rr('example.net', 2, wireName('ns2.example.net')),
  ];
  const additionals = [
    rr('ns1.example.net', 1, Buffer.from([198, 51, 100, 53])),
    rr('ns2.example.net', 1, Buffer.from([203, 0, 113, 53])),
  ];
  const tail = Buffer.concat([aAtQname([192, 0, 2, 3], 30), aAtQname([192, 0, 2, 4], 30)]);
  const query = rawQuery({ opt: {} });
  const full = write(query, sections({ answers, authorities, additionals }));
  const fullSize = full.raw.length;
  const addLen = Buffer.concat(additionals).length;

  it('writes all sections in order with their counts when they fit', () => {
    const { h, packet } = full;
    expect([h.an, h.ns, h.ar]).toEqual([2, 2, 3]);
    expect(h.tc).toBe(false);
    expect(packet.answers?.map((a) => (a as { data: string }).data)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(packet.authorities?.map((a) => (a as { data: string }).data)).toEqual([
      'ns1.example.net',
      'ns2.example.net',
    ]);
    expect(packet.additionals?.map((a) => a.type)).toEqual(['A', 'A', 'OPT']);
  });

  it('appends the geo tail after the static answer, before the authority', () => {
    const { h, packet } = write(query, sections({ answers, authorities }), { tail, tailCount: 2 });
    expect(h.an).toBe(4);
    expect(packet.answers?.map((a) => (a as { data: string }).data)).toEqual([
      '192.0.2.1',
      '192.0.2.2',
      '192.0.2.3',
      '192.0.2.4',
    ]);
    expect(packet.answers?.map((a) => (a as { ttl?: number }).ttl)).toEqual([300, 300, 30, 30]);
    expect(packet.authorities).toHaveLength(2);
  });

  it('exactly at the limit: nothing is dropped', () => {
    const { h, raw } = write(query, sections({ answers, authorities, additionals }), { limit: fullSize });
    expect(raw.length).toBe(fullSize);
    expect([h.tc, h.an, h.ns, h.ar]).toEqual([false, 2, 2, 3]);
  });

  it('optional additional data that does not fit is dropped silently (no TC)', () => {
    const { h, raw, packet } = write(query, sections({ answers, authorities, additionals }), { limit: fullSize - 1 });
    expect(h.tc).toBe(false);
    expect([h.an, h.ns, h.ar]).toEqual([2, 2, 1]);
    expect(raw.length).toBe(fullSize - addLen);
    expect(packet.additionals?.map((a) => a.type)).toEqual(['OPT']);
  });

  it('required glue that does not fit sets TC (RFC 9471)', () => {
    const { h, raw, opt } = write(
      query,
      sections({ answers: [], authorities, additionals, aa: false, additionalRequired: true }),
      {
        limit: fullSize - Buffer.concat(answers).length - 1,
      },
    );
    expect(h.tc).toBe(true);
    expect(raw.length).toBeLessThan(fullSize);
    expect(h.ns + h.an).toBe(0);
    expect(opt).not.toBeNull();
    expect(h.qd).toBe(1);
  });

  it('required glue that fits is kept', () => {
    const s = sections({ answers: [], authorities, additionals, aa: false, additionalRequired: true });
    const size = write(query, s).raw.length;
    const { h } = write(query, s, { limit: size });
    expect([h.tc, h.an, h.ns, h.ar]).toEqual([false, 0, 2, 3]);
  });

  it.each([
    ['one byte short of answer+authority', -1],
    ['room for the question only', -100],
  ])('an answer that does not fit: TC=1, empty sections, question and OPT kept (%s)', (_what, delta) => {
    const limit = fullSize - addLen + delta;
    const { h, raw, opt } = write(query, sections({ answers, authorities, additionals }), { limit });
    expect(h.tc).toBe(true);
    expect([h.qd, h.an, h.ns, h.ar]).toEqual([1, 0, 0, 1]);
    expect(raw.length).toBeLessThanOrEqual(limit);
    expect(opt?.udpPayloadSize).toBe(1232);
  });

  it('a geo tail that does not fit truncates too', () => {
    const s = sections({ answers: [], authorities: [] });
    const noTail = write(query, s).raw.length;
    const { h, raw } = write(query, s, { tail, tailCount: 2, limit: noTail + tail.length - 1 });
    expect(h.tc).toBe(true);
    expect(h.an).toBe(0);
    expect(raw.length).toBeLessThanOrEqual(noTail + tail.length - 1);
  });

  it('property: for any limit the reply fits, decodes, and is either complete, without additional, or TC-empty', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 400 }),
        (nAn, nNs, nAr, required, withOpt, slack) => {
          const q = rawQuery({ id: 99, flags: RD, opt: withOpt ? { options: [NSID_OPT] } : null });
          const s = sections({
            answers: answers.concat(answers).slice(0, nAn),
            authorities: authorities.concat(authorities).slice(0, nNs),
            additionals: additionals.concat(additionals).slice(0, nAr),
            additionalRequired: required,
          });
          const base = write(q, bareSections(0)).raw.length; // header + question + OPT
          const limit = base + slack;
          const { raw, h, packet } = write(q, s, { limit });
          expect(raw.length).toBeLessThanOrEqual(limit);
          expect(h.qr && h.rd && h.id === 99).toBe(true);
          expect(packet.answers ?? []).toHaveLength(h.an);
          const needed = s.answer.length + s.authority.length;
          if (base + needed + s.additional.length <= limit)
            expect([h.tc, h.an, h.ns, h.ar - (withOpt ? 1 : 0)]).toEqual([false, nAn, nNs, nAr]);
          else if (!required && base + needed <= limit)
            expect([h.tc, h.an, h.ns, h.ar - (withOpt ? 1 : 0)]).toEqual([false, nAn, nNs, 0]);
          else expect([h.tc, h.an, h.ns, h.ar - (withOpt ? 1 : 0)]).toEqual([true, 0, 0, 0]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the reply is a fresh buffer: writing another reply does not change it', () => {
    const first = write(rawQuery({ id: 1 }), sections({ answers })).raw;
    const copy = Buffer.from(first);
    write(rawQuery({ id: 2, question: questionBytes('other.example.net') }), sections({ answers }));
    expect(first.equals(copy)).toBe(true);
    expect(QR).toBe(0x8000);
  });
});
