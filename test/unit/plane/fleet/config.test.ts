/**
 * The `fleet:` schema fragment (src/plane/fleet/config.ts): the examples in
 * docs/fleet.md parse, the defaults are the documented ones, bad values are
 * refused with the field's path, and the instance name falls back to the
 * server identity, then the host name.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { fleetInstanceName, fleetSchema, fleetStateDir, ruleFor } from '../../../../src/plane/fleet/config.js';
import { yamlBlocks } from '../../../integration/docs/doc-configs.js';

/** Every issue's path, with the branches of union issues (the config loader reports the deepest branch). */
function issuePaths(issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): string[] {
  return issues.flatMap((i) => {
    const p = [...base, ...i.path];
    const nested = i.code === 'invalid_union' ? i.errors.flatMap((branch) => issuePaths(branch, p)) : [];
    return [p.map(String).join('.'), ...nested];
  });
}

describe('fleet config', () => {
  const examples = yamlBlocks('docs/fleet.md').filter((b) => /^fleet:/m.test(b.text));

  it('docs/fleet.md has examples, and each parses', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const b of examples) {
      const r = fleetSchema.safeParse((parse(b.text) as { fleet: unknown }).fleet);
      expect(r.success, `docs/fleet.md:${b.line}: ${r.error?.message}`).toBe(true);
    }
  });

  it('the documented example means what the page says', () => {
    const first = fleetSchema.parse((parse(examples[0].text) as { fleet: unknown }).fleet);
    expect(first).toMatchObject({
      servers: ['tls://nats-leaf.fra.example.net:4222'],
      tls: { ca_file: '/etc/meridian/nats-ca.pem' },
      config: 'follow',
      probe_replicas: 3,
    });
    const perPop = fleetSchema.parse((parse(examples[1].text) as { fleet: unknown }).fleet);
    expect([ruleFor(perPop.verdict, 'syd'), ruleFor(perPop.verdict, 'fra')]).toEqual(['any', 2]);
  });

  it('defaults are the documented ones', () => {
    expect(fleetSchema.parse({ servers: ['127.0.0.1:4222'] })).toEqual({
      servers: ['127.0.0.1:4222'],
      bucket: 'meridian',
      verdict: { default: 'quorum', pops: {} },
      probe_replicas: 3,
      config: 'local',
      heartbeat: 2,
      grace_period: 15,
      stale_after: 3,
      replicas: 1,
    });
    expect(
      fleetSchema.parse({ servers: ['h:4222'], verdict: 'all', heartbeat: '500ms', grace_period: '1m' }),
    ).toMatchObject({ verdict: { default: 'all', pops: {} }, heartbeat: 0.5, grace_period: 60 });
  });

  it.each([
    [{}, 'servers'],
    [{ servers: [] }, 'servers'],
    [{ servers: ['http://h:80'] }, 'servers.0'],
    [{ servers: ['nats://h:4222/x'] }, 'servers.0'],
    [{ servers: ['h:4222'], verdict: 'most' }, 'verdict'],
    [{ servers: ['h:4222'], verdict: 0 }, 'verdict'],
    [{ servers: ['h:4222'], verdict: { default: 'quorum', pops: { syd: 'some' } } }, 'verdict.pops.syd'],
    [{ servers: ['h:4222'], probe_replicas: 0 }, 'probe_replicas'],
    [{ servers: ['h:4222'], bucket: 'a.b' }, 'bucket'],
    [{ servers: ['h:4222'], instance: 'ns 1' }, 'instance'],
    [{ servers: ['h:4222'], config: 'push' }, 'config'],
    [{ servers: ['h:4222'], tls: { cert_file: 'c.pem' } }, 'tls'],
    [{ servers: ['h:4222'], heartbeat: 'soon' }, 'heartbeat'],
    [{ servers: ['h:4222'], leader: true }, ''],
  ])('refuses %j at %s', (input, where) => {
    const r = fleetSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(issuePaths(r.error!.issues)).toContain(where);
  });

  it('the instance name: fleet.instance, else the server identity, else the host name', () => {
    expect(fleetInstanceName({ instance: 'ns-fra1' }, 'ns1.example.net', 'host')).toBe('ns-fra1');
    expect(fleetInstanceName({}, 'ns1.example.net', 'host')).toBe('ns1.example.net');
    expect(fleetInstanceName({}, 'auto', 'host')).toBe('host');
    expect(fleetInstanceName({}, '', 'host')).toBe('host');
  });

  it('the state directory: fleet.state_dir relative to the config file, else fleet-state/ beside it', () => {
    expect(fleetStateDir({}, '/etc/meridian/meridian.yaml')).toBe('/etc/meridian/fleet-state');
    expect(fleetStateDir({ state_dir: '/var/lib/meridian' }, '/etc/meridian/meridian.yaml')).toBe('/var/lib/meridian');
    expect(fleetStateDir({ state_dir: 'bundles' }, '/etc/meridian/meridian.yaml')).toBe('/etc/meridian/bundles');
  });
});
