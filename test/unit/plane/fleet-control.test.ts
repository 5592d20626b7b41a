/**
 * The host sections a followed fleet config never overrides
 * (src/plane/fleet-control.ts localizeSnapshot): server.listen, identity and
 * workers, admin (its state file still relative to the local file),
 * health.source_address and fleet come from the local file; everything else
 * from the published bundle. Pure: snapshots as plain objects.
 */
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/build/config/schema.js';
import type { Snapshot } from '../../../src/build/snapshot.js';
import { HOST_SECTIONS, localizeSnapshot } from '../../../src/plane/fleet-control.js';

const zones = [{ origin: 'example.net.' }];

function snapshot(file: string, config: unknown): Snapshot {
  const c = configSchema.parse(config);
  return { file, config: c, identity: c.server.identity, hash: 'h' } as unknown as Snapshot;
}

describe('localizeSnapshot', () => {
  const local = configSchema.parse({
    server: { listen: ['192.0.2.53:53'], identity: 'fra-ns1', workers: 2 },
    admin: { listen: '127.0.0.1:9153', state_file: 'admin_state' },
    health: { source_address: '192.0.2.53' },
    fleet: { servers: ['nats://127.0.0.1:4222'], config: 'follow' },
    zones,
  });
  const bundle = snapshot('/var/lib/meridian/fleet-state/v7/meridian.yaml', {
    server: { listen: ['0.0.0.0:53'], identity: 'publisher', workers: 8, udp_max_payload: 1400 },
    admin: { listen: '0.0.0.0:9153' },
    health: { source_address: '198.51.100.1', max_in_flight: 8 },
    logging: { level: 'warn' },
    fleet: { servers: ['nats://elsewhere:4222'] },
    zones,
  });

  it('keeps the host sections of the local file and the rest of the bundle', () => {
    const s = localizeSnapshot(bundle, { file: '/etc/meridian/meridian.yaml', config: local });
    expect(HOST_SECTIONS).toContain('health.source_address');
    expect(s.config.server).toMatchObject({
      listen: ['192.0.2.53:53'],
      identity: 'fra-ns1',
      workers: 2,
      udp_max_payload: 1400,
    });
    expect(s.identity).toBe('fra-ns1');
    expect(s.config.admin).toEqual({ listen: '127.0.0.1:9153', state_file: '/etc/meridian/admin_state' });
    expect(s.config.health).toMatchObject({ source_address: '192.0.2.53', max_in_flight: 8 });
    expect(s.config.fleet?.servers).toEqual(['nats://127.0.0.1:4222']);
    expect(s.config.logging.level).toBe('warn');
    expect(s.file).toBe(bundle.file);
  });

  it('the local file itself is returned as it is', () => {
    const own = snapshot('/etc/meridian/meridian.yaml', { zones });
    expect(localizeSnapshot(own, { file: '/etc/meridian/meridian.yaml', config: local })).toBe(own);
  });
});
