/**
 * IANA special-purpose address ranges (RFC 6890 and the registries it set
 * up): no geo database places a client there, so a decision for one of them
 * is the policy's fallback. explain says so, instead of leaving the operator
 * to wonder why 10.1.2.0/24 lands on the first PoP. Pure data and a prefix test.
 */
import { parsePrefix, type Prefix } from '../net/ip.js';

interface SpecialRange {
  prefix: Prefix;
  text: string;
  what: string;
}

const RANGES: SpecialRange[] = (
  [
    ['0.0.0.0/8', '"this network" (RFC 791)'],
    ['10.0.0.0/8', 'private-use (RFC 1918)'],
    ['100.64.0.0/10', 'shared address space for carrier-grade NAT (RFC 6598)'],
    ['127.0.0.0/8', 'loopback (RFC 1122)'],
    ['169.254.0.0/16', 'link-local (RFC 3927)'],
    ['172.16.0.0/12', 'private-use (RFC 1918)'],
    ['192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'],
    ['192.0.2.0/24', 'documentation, TEST-NET-1 (RFC 5737)'],
    ['192.88.99.0/24', 'deprecated 6to4 relay anycast (RFC 7526)'],
    ['192.168.0.0/16', 'private-use (RFC 1918)'],
    ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
    ['198.51.100.0/24', 'documentation, TEST-NET-2 (RFC 5737)'],
    ['203.0.113.0/24', 'documentation, TEST-NET-3 (RFC 5737)'],
    ['224.0.0.0/4', 'multicast (RFC 5771)'],
    ['240.0.0.0/4', 'reserved (RFC 1112)'],
    ['::/128', 'the unspecified address (RFC 4291)'],
    ['::1/128', 'loopback (RFC 4291)'],
    ['64:ff9b::/96', 'IPv4/IPv6 translation (RFC 6052)'],
    ['64:ff9b:1::/48', 'local-use IPv4/IPv6 translation (RFC 8215)'],
    ['100::/64', 'discard-only (RFC 6666)'],
    ['2001::/32', 'Teredo (RFC 4380)'],
    ['2001:2::/48', 'benchmarking (RFC 5180)'],
    ['2001:db8::/32', 'documentation (RFC 3849)'],
    ['2002::/16', '6to4 (RFC 3056)'],
    ['fc00::/7', 'unique local (RFC 4193)'],
    ['fe80::/10', 'link-local unicast (RFC 4291)'],
    ['ff00::/8', 'multicast (RFC 4291)'],
  ] as const
).map(([text, what]) => ({ prefix: parsePrefix(text), text, what }));

function within(p: Prefix, range: Prefix): boolean {
  if (p.family !== range.family || p.length < range.length) return false;
  for (let i = 0; i < range.length; i++) {
    const bit = 0x80 >> (i & 7);
    if ((p.bytes[i >> 3] & bit) !== (range.bytes[i >> 3] & bit)) return false;
  }
  return true;
}

/** The special-purpose range `p` lies in, or null for ordinary (global unicast) space. */
export function specialRange(p: Prefix): { range: string; what: string } | null {
  const hit = RANGES.find((r) => within(p, r.prefix));
  return hit ? { range: hit.text, what: hit.what } : null;
}
