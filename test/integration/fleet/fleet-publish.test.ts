/**
 * One config for the fleet, and an instance dying (issue 14). Three
 * instances with `fleet.config: follow`: ns1 and ns2 in this process, ns3 a
 * real `meridian serve --workers 2` process in its own mount namespace,
 * where the publisher's second geo database directory is an empty tmpfs (a
 * database missing on that host). `meridian publish` refuses a broken config
 * with file:line:column and publishes nothing; a good one runs on all three
 * within 5 s; one that cannot run on ns3 leaves ns3 on its last good version,
 * reported in /admin/fleet. The cluster primary alone joins the fleet (one
 * NATS connection per instance, counted by nats-server). Then ns3 is
 * SIGKILLed and its probes are taken over within two heartbeat periods.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishCommand } from '../../../src/cli/publish.js';
import { CITY_DB, STATIC_ZONE } from '../../helpers/configs.js';
import { udpQuery, until } from '../../helpers/dns.js';
import { freePort, type NatsServer, startNatsServer } from '../../helpers/nats.js';
import { ROOT, tempDir } from '../../helpers/server.js';
import {
  converged,
  figure,
  type FleetOptions,
  fleetStatus,
  type Instance,
  instanceYaml,
  metricOf,
  type ObserverTarget,
  PROBE,
  sourceOf,
  spawnInstance,
  startInstance,
  startTargets,
} from './fleet-harness.js';

const HEARTBEAT_MS = 1000;
let nats: NatsServer;
let monitorPort: number;
let targets: Record<string, ObserverTarget>;
let fleet: Instance[] = [];
let pubDir: string;
let fleetOpts: FleetOptions;

/** The published config: the fleet's PoPs and zone with a release marker, on `database`. */
function published(release: string, database: string): string {
  const zones = STATIC_ZONE.replace('      www: {', `      release: { TXT: ["${release}"] }\n      www: {`);
  return instanceYaml(1, targets, fleetOpts, zones).replace(/databases: \[[^\]]*\]/, `databases: [${database}]`);
}

/** `meridian publish` in this process: its exit code must be 0; returns what it printed. */
async function publish(file: string): Promise<string[]> {
  const out: string[] = [];
  const print = (l: string) => out.push(l);
  expect(await publishCommand(file, print, print)).toBe(0);
  return out;
}

async function release(i: Instance): Promise<string | undefined> {
  const r = await udpQuery(i.port, { name: 'release.example.net', type: 'TXT' });
  const txt = (r.packet.answers ?? []).find((a) => a.type === 'TXT') as { data?: Buffer[] } | undefined;
  return txt?.data?.map((b) => b.toString()).join('');
}

beforeAll(async () => {
  monitorPort = await freePort();
  nats = await startNatsServer(['-m', String(monitorPort)]);
  targets = await startTargets();
  pubDir = tempDir('meridian-publisher-');
  mkdirSync(path.join(pubDir, 'geo-b'));
  copyFileSync(CITY_DB, path.join(pubDir, 'geo-b', 'city.mmdb'));
  fleetOpts = {
    natsUrls: [nats.url],
    bucket: `publish-${process.pid}`,
    replicas: 2,
    follow: true,
    heartbeat: `${HEARTBEAT_MS}ms`,
  };
  const local = await Promise.all([1, 2].map((k) => startInstance(k, instanceYaml(k, targets, fleetOpts))));
  const ns3 = await spawnInstance(3, instanceYaml(3, targets, fleetOpts), {
    args: ['--workers', '2'],
    hide: path.join(pubDir, 'geo-b'),
  });
  fleet = [...local, ns3];
  await converged(fleet, 3, 30_000);
}, 120_000);

afterAll(async () => {
  await Promise.all(fleet.map((i) => i.close()));
  for (const i of fleet) rmSync(i.dir, { recursive: true, force: true });
  if (pubDir) rmSync(pubDir, { recursive: true, force: true });
  await Promise.all(Object.values(targets ?? {}).map((t) => t.close()));
  await nats?.close();
});

describe('a fleet following one published config', { timeout: 120_000 }, () => {
  it('with --workers 2, only the primary joins: one NATS connection per instance', async () => {
    const connz = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as { num_connections: number };
    expect(connz.num_connections).toBe(3);
    expect((await fleetStatus(fleet[0])).live).toEqual(['ns1', 'ns2', 'ns3']);
  });

  it('a broken config is refused by `meridian publish` with file:line:column, and nothing changes', async () => {
    const broken = path.join(pubDir, 'broken.yaml');
    writeFileSync(broken, published('broken', JSON.stringify(CITY_DB)).replace('- nearest: {}', '- neerest: {}'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'publish', '--config', broken],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(stderr).toMatch(/broken\.yaml:\d+:\d+: policies\.nearest\.steps\[0\]/);
    expect(stderr).toContain('not published');
    const s = await fleetStatus(fleet[0]);
    expect(s.config.published).toBeNull();
    expect(s.members.map((m) => m.configVersion)).toEqual([null, null, null]);
    expect(await metricOf(fleet[2], 'meridian_fleet_published_config_version')).toBe(0);
  });

  it('a good config runs on all three within 5 s; one that cannot run on ns3 leaves it on its last good version, reported', async () => {
    const file = path.join(pubDir, 'meridian.yaml');
    writeFileSync(file, published('v1', JSON.stringify(CITY_DB)));
    const out = await publish(file);
    const t0 = Date.now();
    expect(out[0]).toContain('published as config version 1');
    await until(
      async () => (await Promise.all(fleet.map(release))).every((r) => r === 'v1'),
      'v1 answered by all three',
      5000,
      25,
    );
    await until(
      async () => (await fleetStatus(fleet[0])).members.every((m) => m.configVersion === 1),
      'v1 reported by all three',
      5000,
      25,
    );
    figure('publish v1 -> running and reported on all three', Date.now() - t0);
    expect(Date.now() - t0).toBeLessThanOrEqual(5000);
    // The host sections stay each instance's own: ns3 still calls itself ns3 and probes from 127.0.3.1.
    const nsid = await udpQuery(fleet[2].port, { name: 'id.server', type: 'TXT', qclass: 'CH' });
    expect(((nsid.packet.answers ?? [])[0] as { data: Buffer[] }).data.map(String)).toEqual(['ns3']);
    const view = await fleetStatus(fleet[0]);
    for (const t of Object.values(targets)) t.reset();
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of view.pops)
      expect([...targets[p.pop].seen.keys()].sort(), `${p.pop} probed from`).toEqual(
        p.probers.map((n) => sourceOf(Number(n.slice(2)))).sort(),
      );

    writeFileSync(file, published('v2', 'geo-b/city.mmdb'));
    out.splice(0, out.length, ...(await publish(file)));
    const t1 = Date.now();
    expect(out[0]).toContain('published as config version 2');
    await until(
      async () => {
        const s = await fleetStatus(fleet[0]);
        const by = new Map(s.members.map((m) => [m.instance, m]));
        return by.get('ns1')?.configVersion === 2 && by.get('ns2')?.configVersion === 2 && by.get('ns3')?.configError;
      },
      'v2 on ns1 and ns2, refused by ns3',
      5000,
      25,
    );
    figure('publish v2 -> running on ns1 and ns2, refusal of ns3 reported', Date.now() - t1);
    const ns3 = (await fleetStatus(fleet[1])).members.find((m) => m.instance === 'ns3')!;
    expect(ns3.configVersion).toBe(1);
    expect(ns3.configError).toMatch(/^v2: .*geo-b\/city\.mmdb: missing on this host/);
    expect(await Promise.all(fleet.map(release))).toEqual(['v2', 'v2', 'v1']);
    expect(await metricOf(fleet[2], 'meridian_fleet_config_version')).toBe(1);
    expect(await metricOf(fleet[2], 'meridian_fleet_published_config_version')).toBe(2);
    expect(await metricOf(fleet[0], 'meridian_fleet_config_version')).toBe(2);
  });

  it('an instance killed: its probes are taken over within two heartbeat periods', async () => {
    const before = await fleetStatus(fleet[0]);
    const share = before.pops.filter((p) => p.probers.includes('ns3')).map((p) => p.pop);
    expect(share.length).toBeGreaterThan(0);
    const ns3 = fleet[2];
    const t0 = Date.now();
    ns3.child!.kill('SIGKILL');
    await until(
      async () =>
        (await Promise.all(fleet.slice(0, 2).map(fleetStatus))).every(
          (s) => s.live.length === 2 && s.pops.every((p) => !p.probers.includes('ns3') && p.probers.length === 2),
        ),
      'ns3 dropped and its PoPs reassigned on ns1 and ns2',
      10_000,
      20,
    );
    const reassigned = Date.now() - t0;
    figure(`instance SIGKILLed -> its PoPs reassigned (heartbeat ${HEARTBEAT_MS} ms)`, reassigned);
    expect(reassigned).toBeLessThanOrEqual(2 * HEARTBEAT_MS);
    for (const pop of share) targets[pop].reset();
    await until(
      () => share.every((pop) => [sourceOf(1), sourceOf(2)].every((src) => targets[pop].seen.has(src))),
      "ns3's PoPs probed by ns1 and ns2",
      PROBE.interval * 1000 * 5,
      10,
    );
    figure('instance SIGKILLed -> its PoPs probed by the others', Date.now() - t0);
    await fleet[2].close();
  });
});
