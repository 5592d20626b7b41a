/**
 * The PoPs of a config as the snapshot carries them: addresses checked, the
 * health check with its defaults merged, the instance identity and what
 * NSID and CHAOS id.server answer. Problems are reported at pops.<id>.
 */
import os from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import type { Report } from './config/load.js';
import { mergeHealth, type MeridianConfig } from './config/schema.js';
import type { PopData } from './snapshot.js';

export function resolveIdentity(identity: string): string {
  return identity === 'auto' ? os.hostname() : identity;
}

/**
 * What NSID and CHAOS id.server / hostname.bind answer (BIND's server-id):
 * "" for none (the default: the host name is nobody's business), the
 * instance identity, the host name, or the text as written.
 */
export function resolveServerId(config: MeridianConfig): string {
  const id = config.server.server_id;
  if (id === 'none' || id === '') return '';
  if (id === 'identity') return resolveIdentity(config.server.identity);
  if (id === 'hostname') return os.hostname();
  return id;
}

export function buildPops(config: MeridianConfig, report: Report): PopData[] {
  return Object.entries(config.pops).map(([id, p]) => {
    p.ipv4.forEach((a, i) => isIPv4(a) || report(['pops', id, 'ipv4', i], `"${a}" is not an IPv4 address`));
    p.ipv6.forEach((a, i) => isIPv6(a) || report(['pops', id, 'ipv6', i], `"${a}" is not an IPv6 address`));
    if (p.ipv4.length + p.ipv6.length === 0) report(['pops', id], 'a PoP needs at least one ipv4 or ipv6 address');
    const health = mergeHealth(p.health, config.health.defaults);
    if (health.type !== 'none' && !health.target && p.ipv4.length + p.ipv6.length === 0) {
      report(['pops', id, 'health'], 'no target to probe');
    }
    if (health.timeout >= health.interval && health.type !== 'none') {
      report(
        ['pops', id, 'health', 'timeout'],
        `timeout (${health.timeout}s) must be shorter than interval (${health.interval}s)`,
      );
    }
    return {
      id,
      lat: p.location.lat,
      lon: p.location.lon,
      weight: p.weight,
      spill: p.spill,
      ipv4: p.ipv4,
      ipv6: p.ipv6,
      health,
    };
  });
}
