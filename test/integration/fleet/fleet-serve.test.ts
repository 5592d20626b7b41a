/**
 * Meridian as a fleet, end to end (issue 14): a real `nats-server -js` and
 * three Meridian servers on loopback, each probing from its own 127.0.k.1,
 * against HTTP targets that answer healthy or failing per remote address.
 * Shared probing (only R probers per PoP, counted at the targets), a PoP
 * dying for everyone (answers move on all three within interval x fall +
 * 1 s), quorum against one dissenting observer, fleet-wide and local
 * overrides (admin API and state file) within a second, explain's votes.
 * Conditions are polled with deadlines; the figures are printed.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POPS } from '../../helpers/configs.js';
import { until } from '../../helpers/dns.js';
import { type NatsServer, startNatsServer } from '../../helpers/nats.js';
import { writeAtomically } from '../../helpers/server.js';
import { getJson } from '../ops/admin-http.js';
import {
  allAnswer,
  converged,
  FRA,
  FRA_CLIENT,
  figure,
  fleetStatus,
  fraAnswer,
  type Instance,
  instanceYaml,
  LON,
  metricOf,
  type ObserverTarget,
  override,
  PROBE,
  sourceOf,
  startInstance,
  startTargets,
} from './fleet-harness.js';

const POPS = Object.keys(TEST_POPS);
let nats: NatsServer;
let targets: Record<string, ObserverTarget>;

beforeAll(async () => {
  nats = await startNatsServer();
  targets = await startTargets();
});

afterAll(async () => {
  await Promise.all(Object.values(targets ?? {}).map((t) => t.close()));
  await nats?.close();
});

function healthy(): void {
  for (const t of Object.values(targets)) {
    t.failAll = false;
    t.failFor.clear();
  }
}

async function startFleet(bucket: string, replicas: number, stateFile = false): Promise<Instance[]> {
  healthy();
  const f = { natsUrls: [nats.url], bucket, replicas, stateFile };
  const fleet = await Promise.all([1, 2, 3].map((k) => startInstance(k, instanceYaml(k, targets, f))));
  await converged(fleet);
  return fleet;
}

async function stopFleet(fleet: Instance[]): Promise<void> {
  await Promise.all(fleet.map((i) => i.close()));
  for (const i of fleet) rmSync(i.dir, { recursive: true, force: true });
}

describe('three instances, probe_replicas 2', { timeout: 120_000 }, () => {
  let fleet: Instance[];
  beforeAll(async () => {
    fleet = await startFleet(`serve-r2-${process.pid}`, 2, true);
  });
  afterAll(async () => {
    await stopFleet(fleet ?? []);
  });

  it('each PoP is probed by exactly the R = 2 instances the fleet assigns, counted at the targets', async () => {
    const status = await Promise.all(fleet.map(fleetStatus));
    // Every instance computes the same assignment, of two live probers per PoP.
    for (const s of status) expect(s.pops.map((p) => p.probers)).toEqual(status[0].pops.map((p) => p.probers));
    for (const p of status[0].pops) expect(p.probers).toHaveLength(2);
    for (const t of Object.values(targets)) t.reset();
    const windowMs = 3000;
    await new Promise((r) => setTimeout(r, windowMs));
    let total = 0;
    for (const p of status[0].pops) {
      const seen = targets[p.pop].seen;
      const expected = p.probers.map((name) => sourceOf(Number(name.slice(2)))).sort();
      expect([...seen.keys()].sort(), `${p.pop}: probed from`).toEqual(expected);
      for (const n of seen.values()) total += n;
    }
    // N x M probes alone would be 3 x 8 per interval; the fleet sends R x M.
    const perInterval = total / (windowMs / 1000 / PROBE.interval);
    figure(
      `probes per interval, N=3 R=2 M=${POPS.length} (alone: ${3 * POPS.length})`,
      Math.round(perInterval),
      'probes',
    );
    expect(perInterval).toBeLessThan(2 * POPS.length * 1.25);
    expect(perInterval).toBeGreaterThan(2 * POPS.length * 0.75);
    for (const i of fleet) {
      expect(await metricOf(i, 'meridian_fleet_connected')).toBe(1);
      expect(await metricOf(i, 'meridian_fleet_members')).toBe(3);
      expect(await metricOf(i, 'meridian_fleet_probers', { pop: 'fra' })).toBe(2);
      expect(await metricOf(i, 'meridian_fleet_observations', { pop: 'fra', vote: 'up' })).toBe(2);
      expect(await metricOf(i, 'meridian_fleet_verdict_source', { pop: 'fra', source: 'fleet' })).toBe(1);
    }
  });

  it('a PoP dying for everyone moves the answers of all three within interval x fall + 1 s, and back', async () => {
    expect(await allAnswer(fleet, FRA, 'fra answered everywhere')).toBeLessThan(1000);
    targets.fra.failAll = true;
    const down = await allAnswer(fleet, LON, 'lon answered everywhere after fra died', 10_000);
    figure('PoP dead for everyone -> answers moved on all three', down);
    expect(down).toBeLessThanOrEqual(PROBE.interval * PROBE.fall * 1000 + 1000);
    const s = await fleetStatus(fleet[2]);
    const fra = s.pops.find((p) => p.pop === 'fra')!;
    expect(fra).toMatchObject({ source: 'fleet', up: false, votesDown: 2, votesUp: 0 });
    expect(fra.votes.every((v) => v.reason === 'status 503')).toBe(true);
    targets.fra.failAll = false;
    const up = await allAnswer(fleet, FRA, 'fra answered again everywhere', 10_000);
    figure('PoP back -> answers back on all three', up);
  });

  it('a drain through instance 1 moves the answers of instances 2 and 3 within 1 s; undrain through instance 2', async () => {
    await allAnswer(fleet, FRA, 'fra answered everywhere');
    const t0 = Date.now();
    expect((await override(fleet[0], 'fra', 'drain')).status).toBe(200);
    await allAnswer(fleet.slice(1), LON, 'instances 2 and 3 drained fra', 1000);
    figure('fleet drain through instance 1 -> answers moved on 2 and 3', Date.now() - t0);
    expect(await fraAnswer(fleet[0].port)).toBe(LON);
    const pops = await getJson<Array<{ id: string; override: string; overrideSource: string; overrideBy: string }>>(
      fleet[2].admin,
      '/admin/pops',
    );
    expect(pops.find((p) => p.id === 'fra')).toMatchObject({
      override: 'drain',
      overrideSource: 'fleet',
      overrideBy: 'ns1 (admin API)',
    });
    expect(await metricOf(fleet[1], 'meridian_pop_override', { pop: 'fra', override: 'drain' })).toBe(1);
    const t1 = Date.now();
    expect((await override(fleet[1], 'fra', 'undrain')).status).toBe(200);
    await allAnswer(fleet, FRA, 'fra undrained everywhere', 1000);
    figure('fleet undrain through instance 2 -> answers back on all three', Date.now() - t1);
  });

  it('a local override applies on its instance only, wins there over the fleet, and is shown as local', async () => {
    expect((await override(fleet[2], 'fra', 'drain', 'local')).status).toBe(200);
    expect(await fraAnswer(fleet[2].port)).toBe(LON);
    const pops = await getJson<Array<{ id: string; overrideSource: string }>>(fleet[2].admin, '/admin/pops');
    expect(pops.find((p) => p.id === 'fra')?.overrideSource).toBe('api');
    // A fleet-wide force-up does not undo it there; everywhere else fra stays.
    expect((await override(fleet[0], 'fra', 'force-up')).status).toBe(200);
    await until(async () => (await fleetStatus(fleet[2])).pops.find((p) => p.pop === 'fra')?.override, 'force-up seen');
    expect(await fraAnswer(fleet[2].port)).toBe(LON);
    expect(await fraAnswer(fleet[0].port)).toBe(FRA);
    expect(await fraAnswer(fleet[1].port)).toBe(FRA);
    expect((await override(fleet[2], 'fra', 'clear', 'local')).status).toBe(200);
    expect((await override(fleet[0], 'fra', 'clear')).status).toBe(200);
    await allAnswer(fleet, FRA, 'fra everywhere again', 1000);
    expect((await override(fleet[0], 'fra', 'drain', 'elsewhere' as 'local')).status).toBe(400);
  });

  it("a line of instance 2's state file drains fleet-wide within 1 s; a `local` line only there; removing the line undrains", async () => {
    const file = path.join(fleet[1].dir, 'admin_state');
    const t0 = Date.now();
    writeAtomically(file, 'fra DRAIN\n');
    await allAnswer(fleet, LON, 'fra drained everywhere by the state file', 3000);
    figure('state file drain on instance 2 -> answers moved on all three', Date.now() - t0);
    const s = await fleetStatus(fleet[0]);
    expect(s.pops.find((p) => p.pop === 'fra')?.override).toMatchObject({ override: 'drain', by: 'ns2 (state file)' });
    writeAtomically(file, 'lon DRAIN local\n');
    await allAnswer(fleet, FRA, 'fra back everywhere when its line is gone', 3000);
    // lon is drained on instance 2 only: its Frankfurt fallback list is fra first anyway, so look at /admin/pops.
    const pops2 = await getJson<Array<{ id: string; override: string | null; overrideSource: string | null }>>(
      fleet[1].admin,
      '/admin/pops',
    );
    expect(pops2.find((p) => p.id === 'lon')).toMatchObject({ override: 'drain', overrideSource: 'file' });
    const pops1 = await getJson<Array<{ id: string; override: string | null }>>(fleet[0].admin, '/admin/pops');
    expect(pops1.find((p) => p.id === 'lon')?.override).toBeNull();
    writeFileSync(file, '');
  });
});

describe('three instances, probe_replicas 3, quorum', { timeout: 120_000 }, () => {
  let fleet: Instance[];
  beforeAll(async () => {
    fleet = await startFleet(`serve-r3-${process.pid}`, 3);
  });
  afterAll(async () => {
    await stopFleet(fleet ?? []);
  });

  it('fra failing for one observer of three moves nothing; for two of three it moves everywhere; explain shows the votes', async () => {
    await allAnswer(fleet, FRA, 'fra answered everywhere');
    targets.fra.failFor.add(sourceOf(1));
    // ns1 goes down after fall probes and publishes it; the two others outvote it.
    await until(
      async () =>
        (await Promise.all(fleet.map(fleetStatus))).every((s) => {
          const fra = s.pops.find((p) => p.pop === 'fra')!;
          return fra.votesDown === 1 && fra.votesUp === 2;
        }),
      'one down vote of three seen everywhere',
    );
    for (let n = 0; n < 10; n++) {
      for (const i of fleet) expect(await fraAnswer(i.port)).toBe(FRA);
      await new Promise((r) => setTimeout(r, PROBE.interval * 1000));
    }
    const ex = await getJson<{
      health: Array<{
        id: string;
        up: boolean;
        fleet: {
          source: string;
          localUp: boolean;
          rule: string;
          votes: Array<{ instance: string; up: boolean; fresh: boolean }>;
        };
      }>;
    }>(fleet[0].admin, `/explain?name=cdn.example.net&client=${encodeURIComponent(FRA_CLIENT)}`);
    const fraHealth = ex.health.find((h) => h.id === 'fra')!;
    // ns1's own probes say down, the fleet says up, and the votes say why.
    expect(fraHealth).toMatchObject({ up: true, fleet: { source: 'fleet', localUp: false, rule: 'quorum' } });
    expect(fraHealth.fleet.votes.map((v) => [v.instance, v.up, v.fresh]).sort()).toEqual([
      ['ns1', false, true],
      ['ns2', true, true],
      ['ns3', true, true],
    ]);
    const t0 = Date.now();
    targets.fra.failFor.add(sourceOf(2));
    const moved = await allAnswer(fleet, LON, 'two down votes of three move fra everywhere', 10_000);
    figure('fra failing for 2 of 3 observers -> answers moved on all three', moved);
    expect(Date.now() - t0).toBeLessThanOrEqual(PROBE.interval * PROBE.fall * 1000 + 1000);
    targets.fra.failFor.clear();
    await allAnswer(fleet, FRA, 'fra back everywhere', 10_000);
  });
});
