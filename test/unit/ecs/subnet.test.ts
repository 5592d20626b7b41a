/**
 * The effective client subnet (src/ecs/subnet.ts) as a table: which network
 * the lookup reads and the SCOPE base, for ECS options, SOURCE 0, IPv4-mapped
 * options and source addresses, unreadable sources; and the prefix form
 * explain and simulate use agrees with the packet form on every row.
 */
import { describe, expect, it } from 'vitest';
import { ClientSubnet, effectivePrefix, effectiveSubnet, SourceAddress } from '../../../src/ecs/subnet.js';
import { parsePrefix } from '../../../src/net/ip.js';
import { ParsedQuery, parseQuery } from '../../../src/wire/query.js';
import { buildQuery } from '../../helpers/dns.js';

interface Row {
  ecs?: string;
  source: string;
  family: 4 | 6;
  /** The bytes the lookup reads (a truncated option reads as zero past them). */
  bytes: number[];
  bits: number;
  scopeBase: number;
  fromOption: boolean;
}

const TABLE: Row[] = [
  { ecs: '6.0.0.0/24', source: '127.0.0.1', family: 4, bytes: [6, 0, 0], bits: 24, scopeBase: 0, fromOption: true },
  { ecs: '6.0.0.0/17', source: '127.0.0.1', family: 4, bytes: [6, 0, 0], bits: 17, scopeBase: 0, fromOption: true },
  {
    ecs: '2401:db8::/48',
    source: '127.0.0.1',
    family: 6,
    bytes: [0x24, 0x01, 0x0d, 0xb8, 0, 0],
    bits: 48,
    scopeBase: 0,
    fromOption: true,
  },
  // ::ffff:a.b.c.d/n (n >= 96) is the IPv4 client a.b.c.d/(n-96), SCOPE 96 + depth.
  {
    ecs: '::ffff:6.0.0.0/120',
    source: '127.0.0.1',
    family: 4,
    bytes: [6, 0, 0],
    bits: 24,
    scopeBase: 96,
    fromOption: true,
  },
  {
    ecs: '::ffff:5.1.2.3/128',
    source: '127.0.0.1',
    family: 4,
    bytes: [5, 1, 2, 3],
    bits: 32,
    scopeBase: 96,
    fromOption: true,
  },
  { ecs: '::ffff:0.0.0.0/96', source: '127.0.0.1', family: 4, bytes: [], bits: 0, scopeBase: 96, fromOption: true },
  // Not ::ffff:0:0/96 (one bit differs): an IPv6 network like any other.
  {
    ecs: '::fffe:0:0/96',
    source: '127.0.0.1',
    family: 6,
    bytes: [...Array(10).fill(0), 0xff, 0xfe],
    bits: 96,
    scopeBase: 0,
    fromOption: true,
  },
  // SOURCE 0 (RFC 7871 7.1.2) and no option: the packet's source address, full length, SCOPE 0.
  { ecs: '0.0.0.0/0', source: '6.0.0.1', family: 4, bytes: [6, 0, 0, 1], bits: 32, scopeBase: 0, fromOption: false },
  {
    ecs: '::/0',
    source: '2401::1',
    family: 6,
    bytes: [0x24, 1, ...Array(13).fill(0), 1],
    bits: 128,
    scopeBase: 0,
    fromOption: false,
  },
  { source: '3.0.0.1', family: 4, bytes: [3, 0, 0, 1], bits: 32, scopeBase: 0, fromOption: false },
  { source: '::ffff:3.0.0.1', family: 4, bytes: [3, 0, 0, 1], bits: 32, scopeBase: 0, fromOption: false },
  // A source that cannot be read: 0.0.0.0, which no database places.
  { source: '', family: 4, bytes: [0, 0, 0, 0], bits: 32, scopeBase: 0, fromOption: false },
  { source: 'not-an-address', family: 4, bytes: [0, 0, 0, 0], bits: 32, scopeBase: 0, fromOption: false },
];

function fromPacket(row: Row): ClientSubnet {
  const msg = buildQuery({ name: 'cdn.example.net', ecs: row.ecs });
  const q = new ParsedQuery();
  expect(parseQuery(msg, msg.length, q)).toBe(0);
  const source = new SourceAddress();
  source.setText(row.source);
  const out = new ClientSubnet();
  effectiveSubnet(out, msg, q, source);
  return out;
}

describe('effective client subnet', () => {
  for (const row of TABLE) {
    it(`${row.ecs ?? 'no ECS'} from "${row.source}" -> ${row.family === 4 ? 'IPv4' : 'IPv6'} /${row.bits}, scope base ${row.scopeBase}`, () => {
      const s = fromPacket(row);
      expect(s.family).toBe(row.family);
      expect([...s.bytes.subarray(s.offset, s.offset + s.byteLength)]).toEqual(row.bytes);
      expect(s.bits).toBe(row.bits);
      expect(s.scopeBase).toBe(row.scopeBase);
      expect(s.fromOption).toBe(row.fromOption);
      // The prefix form (explain, simulate) is the same rule.
      if (row.ecs && row.source) {
        const p = effectivePrefix(parsePrefix(row.ecs), parsePrefix(row.source));
        expect(p.family).toBe(row.family);
        expect(p.length).toBe(row.bits);
        expect(p.scopeBase).toBe(row.scopeBase);
        expect([...p.bytes.subarray(0, row.bytes.length)]).toEqual(row.bytes);
      }
    });
  }

  it('batched sources are bytes: an IPv4-mapped IPv6 source is the IPv4 client, and a new packet replaces the last', () => {
    const source = new SourceAddress();
    const out = new ClientSubnet();
    const q = { hasEcs: false, ecsFamily: 0, ecsSource: 0, ecsOffset: 0, ecsLength: 0 };
    const slots = Uint8Array.of(9, 9, 9, 9, ...Array(10).fill(0), 0xff, 0xff, 7, 0, 0, 9);
    source.setBytes(6, slots, 4);
    effectiveSubnet(out, new Uint8Array(0), q, source);
    expect([out.family, ...out.bytes.subarray(out.offset, out.offset + 4)]).toEqual([4, 7, 0, 0, 9]);
    source.setText('');
    effectiveSubnet(out, new Uint8Array(0), q, source);
    expect([out.family, ...out.bytes.subarray(out.offset, out.offset + 4)]).toEqual([4, 0, 0, 0, 0]);
  });
});
