/**
 * Helpers for the geo integration tests: ECS option bytes built by hand
 * (any family/address combination, including IPv4-mapped IPv6 and malformed
 * options), expected PoPs from the fixture tables, and reply accessors.
 */
import { FIXTURE_PLACES } from '../../../geo-data/fixture-networks.js';
import { TEST_POPS } from '../../helpers/configs.js';
import type { QueryOptions, Reply } from '../../helpers/dns.js';
import { bigToBytes, cidr, prefixOf, referenceNearest } from '../../unit/policy/support.js';

/** ECS option data for "addr/len" (IPv4, IPv6, or ::ffff:a.b.c.d mapped): the address truncated and masked. */
export function ecsBytes(subnet: string): Buffer {
  const c = cidr(subnet);
  const masked = prefixOf(c.base, c.len, c.family).base;
  const addr = bigToBytes(masked, c.family).subarray(0, Math.ceil(c.len / 8));
  return Buffer.concat([Buffer.from([0, c.family === 4 ? 1 : 2, c.len, 0]), Buffer.from(addr)]);
}

/** Query options carrying the ECS option for `subnet` (as raw option data, so any subnet works). */
export function withEcs(name: string, type: string, subnet: string, extra: Partial<QueryOptions> = {}): QueryOptions {
  return { name, type, ...extra, options: [...(extra.options ?? []), { code: 8, data: ecsBytes(subnet) }] };
}

/** The first PoP for a client at fixture place `place` (nearest of the test PoPs). */
export function nearestPop(place: string): string {
  const p = FIXTURE_PLACES[place];
  return referenceNearest(p.latitude, p.longitude, 1)[0];
}

export function popAddress(pop: string, type: string): string {
  return type === 'AAAA' ? TEST_POPS[pop].v6 : TEST_POPS[pop].v4;
}

/** Answer records of a reply as "TYPE data". */
export function answerSummary(r: Reply): string[] {
  return (r.packet.answers ?? []).map((a) => {
    const data = (a as { data: unknown }).data;
    if (a.type === 'MX') {
      const mx = data as { preference: number; exchange: string };
      return `MX ${mx.preference} ${mx.exchange}`;
    }
    return `${a.type} ${String(data)}`;
  });
}
