/**
 * EDNS Client Subnet option parsing (RFC 7871 section 6 and 7.2.1):
 * validateEcs straight from packet bytes, parseEcs / encodeEcs round trips.
 * Every rejection is a FORMERR at the wire layer; here we check the reason.
 */
import { describe, expect, it } from 'vitest';
import {
  ECS_STATUS_TEXT,
  EcsStatus,
  encodeEcs,
  parseEcs,
  validateEcs,
  type ClientSubnet,
} from '../../../src/ecs/parse.js';

/** Option data: FAMILY(2) SOURCE(1) SCOPE(1) ADDRESS(...). */
const opt = (family: number, source: number, scope: number, address: number[]): Uint8Array =>
  Uint8Array.from([family >> 8, family & 0xff, source, scope, ...address]);

describe('validateEcs', () => {
  it.each<[string, Uint8Array, number]>([
    // Too short: the fixed part is 4 bytes.
    ['empty option', new Uint8Array(0), EcsStatus.TOO_SHORT],
    ['1 byte', Uint8Array.from([0]), EcsStatus.TOO_SHORT],
    ['3 bytes', Uint8Array.from([0, 1, 0]), EcsStatus.TOO_SHORT],
    // FAMILY must be 1 or 2 (the whole 16-bit field).
    ['family 0', opt(0, 0, 0, []), EcsStatus.BAD_FAMILY],
    ['family 3', opt(3, 0, 0, []), EcsStatus.BAD_FAMILY],
    ['family 0x0101 (low byte 1, high byte set)', opt(0x0101, 0, 0, []), EcsStatus.BAD_FAMILY],
    ['family 0x0102', opt(0x0102, 8, 0, [10]), EcsStatus.BAD_FAMILY],
    ['family 0xffff', opt(0xffff, 0, 0, []), EcsStatus.BAD_FAMILY],
    // SOURCE PREFIX-LENGTH within the family.
    ['IPv4 /33', opt(1, 33, 0, [1, 2, 3, 4, 0]), EcsStatus.SOURCE_TOO_LONG],
    ['IPv4 /255', opt(1, 255, 0, new Array(32).fill(0)), EcsStatus.SOURCE_TOO_LONG],
    ['IPv6 /129', opt(2, 129, 0, new Array(17).fill(0)), EcsStatus.SOURCE_TOO_LONG],
    // ADDRESS exactly ceil(source/8) octets, both ways.
    ['IPv4 /24 with 4 address bytes (too many)', opt(1, 24, 0, [192, 0, 2, 0]), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv4 /24 with 2 address bytes (too few)', opt(1, 24, 0, [192, 0]), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv4 /0 with 1 address byte', opt(1, 0, 0, [0]), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv4 /32 with 3 address bytes', opt(1, 32, 0, [1, 2, 3]), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv4 /25 with 3 address bytes', opt(1, 25, 0, [1, 2, 3]), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv4 /1 with 0 address bytes', opt(1, 1, 0, []), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv6 /56 with 16 address bytes', opt(2, 56, 0, new Array(16).fill(0)), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv6 /56 with 6 address bytes', opt(2, 56, 0, new Array(6).fill(0)), EcsStatus.BAD_ADDRESS_LENGTH],
    ['IPv6 /128 with 15 address bytes', opt(2, 128, 0, new Array(15).fill(0)), EcsStatus.BAD_ADDRESS_LENGTH],
    // No bits set past the prefix.
    ['IPv4 /23 with bit 24 set', opt(1, 23, 0, [192, 0, 3]), EcsStatus.BITS_PAST_PREFIX],
    ['IPv4 /1 with bit 2 set', opt(1, 1, 0, [0xc0]), EcsStatus.BITS_PAST_PREFIX],
    ['IPv4 /31 with the last bit set', opt(1, 31, 0, [1, 2, 3, 5]), EcsStatus.BITS_PAST_PREFIX],
    ['IPv6 /57 with bit 58 set', opt(2, 57, 0, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x40]), EcsStatus.BITS_PAST_PREFIX],
    ['IPv6 /127 with the last bit set', opt(2, 127, 0, [...new Array(15).fill(0), 1]), EcsStatus.BITS_PAST_PREFIX],
    // SCOPE PREFIX-LENGTH must be 0 in a query.
    ['IPv4 /24 scope 24', opt(1, 24, 24, [192, 0, 2]), EcsStatus.NONZERO_SCOPE],
    ['IPv4 /0 scope 1', opt(1, 0, 1, []), EcsStatus.NONZERO_SCOPE],
    ['IPv6 /56 scope 48', opt(2, 56, 48, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0]), EcsStatus.NONZERO_SCOPE],
  ])('rejects %s', (_what, data, status) => {
    expect(validateEcs(data, 0, data.length)).toBe(status);
    expect(parseEcs(data)).toBe(status);
    expect(ECS_STATUS_TEXT[status]).toBeTruthy();
  });

  it.each<[string, Uint8Array]>([
    ['IPv4 /0', opt(1, 0, 0, [])],
    ['IPv6 /0', opt(2, 0, 0, [])],
    ['IPv4 /1', opt(1, 1, 0, [0x80])],
    ['IPv4 /7 (partial octet, bits inside the prefix)', opt(1, 7, 0, [0xfe])],
    ['IPv4 /24', opt(1, 24, 0, [192, 0, 2])],
    ['IPv4 /32', opt(1, 32, 0, [192, 0, 2, 1])],
    ['IPv6 /56', opt(2, 56, 0, [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56])],
    ['IPv6 /128', opt(2, 128, 0, [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1])],
    ['IPv6 /33 (partial octet)', opt(2, 33, 0, [0x20, 0x01, 0x0d, 0xb8, 0x80])],
    ['IPv6 /96 IPv4-mapped', opt(2, 96, 0, [...new Array(10).fill(0), 0xff, 0xff])],
  ])('accepts %s', (_what, data) => {
    expect(validateEcs(data, 0, data.length)).toBe(EcsStatus.OK);
  });

  it('validates an option in the middle of a larger buffer, reading only its own bytes', () => {
    const data = opt(1, 24, 0, [192, 0, 2]);
    const buf = new Uint8Array(40).fill(0xff);
    buf.set(data, 17);
    expect(validateEcs(buf, 17, data.length)).toBe(EcsStatus.OK);
    // The same bytes with a length one short (address of 2 octets) are rejected.
    expect(validateEcs(buf, 17, data.length - 1)).toBe(EcsStatus.BAD_ADDRESS_LENGTH);
    // One longer picks up a 0xff octet: wrong address length.
    expect(validateEcs(buf, 17, data.length + 1)).toBe(EcsStatus.BAD_ADDRESS_LENGTH);
  });

  it('for every IPv4 and IPv6 source length, accepts exactly ceil(source/8) address octets', () => {
    for (const [family, max] of [
      [1, 32],
      [2, 128],
    ] as const) {
      for (let source = 0; source <= max; source++) {
        const need = Math.ceil(source / 8);
        for (let len = 0; len <= max / 8 + 1; len++) {
          const data = opt(family, source, 0, new Array(len).fill(0));
          expect(validateEcs(data, 0, data.length), `family ${family} /${source} with ${len} octets`).toBe(
            len === need ? EcsStatus.OK : EcsStatus.BAD_ADDRESS_LENGTH,
          );
        }
      }
    }
  });

  it('for every source length, rejects each single bit past the prefix in the last octet', () => {
    for (const [family, max] of [
      [1, 32],
      [2, 128],
    ] as const) {
      for (let source = 1; source <= max; source++) {
        const need = Math.ceil(source / 8);
        for (let bit = source; bit < need * 8; bit++) {
          const addr = new Array(need).fill(0);
          addr[bit >> 3] |= 0x80 >> (bit & 7);
          const data = opt(family, source, 0, addr);
          expect(validateEcs(data, 0, data.length), `family ${family} /${source} bit ${bit}`).toBe(
            EcsStatus.BITS_PAST_PREFIX,
          );
        }
        // Every bit inside the prefix may be set.
        const full = new Array(need).fill(0xff);
        if (source % 8) full[need - 1] = (0xff << (8 - (source % 8))) & 0xff;
        const data = opt(family, source, 0, full);
        expect(validateEcs(data, 0, data.length), `family ${family} /${source} all ones`).toBe(EcsStatus.OK);
      }
    }
  });
});

describe('parseEcs / encodeEcs', () => {
  it.each<[string, ClientSubnet]>([
    ['IPv4 /0', { family: 1, sourcePrefix: 0, scopePrefix: 0, address: new Uint8Array(4) }],
    ['IPv4 /1', { family: 1, sourcePrefix: 1, scopePrefix: 0, address: Uint8Array.from([128, 0, 0, 0]) }],
    ['IPv4 /24', { family: 1, sourcePrefix: 24, scopePrefix: 0, address: Uint8Array.from([198, 51, 100, 0]) }],
    ['IPv4 /32', { family: 1, sourcePrefix: 32, scopePrefix: 0, address: Uint8Array.from([203, 0, 113, 77]) }],
    ['IPv6 /0', { family: 2, sourcePrefix: 0, scopePrefix: 0, address: new Uint8Array(16) }],
    [
      'IPv6 /56',
      {
        family: 2,
        sourcePrefix: 56,
        scopePrefix: 0,
        address: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      },
    ],
    [
      'IPv6 /128',
      {
        family: 2,
        sourcePrefix: 128,
        scopePrefix: 0,
        address: Uint8Array.from([0x2a, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
      },
    ],
  ])('%s round-trips through encode and parse', (_what, subnet) => {
    const wire = encodeEcs(subnet);
    expect(wire.length).toBe(4 + Math.ceil(subnet.sourcePrefix / 8));
    expect([...wire.subarray(0, 4)]).toEqual([0, subnet.family, subnet.sourcePrefix, 0]);
    const back = parseEcs(wire);
    expect(back).toEqual({
      family: subnet.family,
      sourcePrefix: subnet.sourcePrefix,
      scopePrefix: 0,
      address: subnet.address,
    });
    expect(encodeEcs(back as ClientSubnet)).toEqual(wire);
  });

  it('parseEcs returns the full-length address, zero past the prefix', () => {
    const r = parseEcs(opt(1, 16, 0, [10, 20]));
    expect(r).toEqual({ family: 1, sourcePrefix: 16, scopePrefix: 0, address: Uint8Array.from([10, 20, 0, 0]) });
    const r6 = parseEcs(opt(2, 24, 0, [0x20, 0x01, 0x0d]));
    expect(typeof r6).toBe('object');
    expect((r6 as ClientSubnet).address).toEqual(Uint8Array.from([0x20, 0x01, 0x0d, ...new Array(13).fill(0)]));
  });

  it('encodeEcs truncates the address to the prefix, clearing bits past it (RFC 7871 6)', () => {
    const wire = encodeEcs({
      family: 1,
      sourcePrefix: 20,
      scopePrefix: 0,
      address: Uint8Array.from([192, 0, 255, 255]),
    });
    expect([...wire]).toEqual([0, 1, 20, 0, 192, 0, 0xf0]);
    expect(validateEcs(wire, 0, wire.length)).toBe(EcsStatus.OK);
    const wire6 = encodeEcs({ family: 2, sourcePrefix: 9, scopePrefix: 0, address: new Uint8Array(16).fill(0xff) });
    expect([...wire6]).toEqual([0, 2, 9, 0, 0xff, 0x80]);
  });

  it('encodeEcs writes a response SCOPE (which a query must not carry)', () => {
    const wire = encodeEcs({ family: 1, sourcePrefix: 24, scopePrefix: 16, address: Uint8Array.from([192, 0, 2, 0]) });
    expect([...wire]).toEqual([0, 1, 24, 16, 192, 0, 2]);
    expect(parseEcs(wire)).toBe(EcsStatus.NONZERO_SCOPE);
  });

  it('every source length of both families encodes to a valid option and parses back', () => {
    for (const [family, bytes] of [
      [1, 4],
      [2, 16],
    ] as const) {
      for (let source = 0; source <= bytes * 8; source++) {
        const address = new Uint8Array(bytes).map((_, i) => (i * 37 + source * 11 + 5) & 0xff);
        const wire = encodeEcs({ family, sourcePrefix: source, scopePrefix: 0, address });
        const back = parseEcs(wire);
        expect(typeof back, `family ${family} /${source}`).toBe('object');
        const sub = back as ClientSubnet;
        expect(sub.sourcePrefix).toBe(source);
        // The first `source` bits survive, the rest are zero.
        for (let bit = 0; bit < bytes * 8; bit++) {
          const b = (sub.address[bit >> 3] >> (7 - (bit & 7))) & 1;
          const orig = (address[bit >> 3] >> (7 - (bit & 7))) & 1;
          expect(b, `family ${family} /${source} bit ${bit}`).toBe(bit < source ? orig : 0);
        }
      }
    }
  });
});
