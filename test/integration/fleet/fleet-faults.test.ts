/**
 * The fleet when NATS fails (issue 14): unreachable at start (serve at once
 * with local probes, say so), killed mid-run (a UDP query stream to every
 * instance loses nothing and never gets an empty answer, the connected
 * metric drops, the last fleet verdicts are held for the grace period, then
 * local probing takes over and decides), restarted (they rejoin and
 * converge, back to R probers per PoP). Real nats-server, three Meridian
 * servers on loopback; the figures are printed.
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/util/logger.js';
import { TEST_POPS } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { freePort, type NatsServer, startNatsServer } from '../../helpers/nats.js';
import {
  allAnswer,
  converged,
  FRA,
  FRA_CLIENT,
  figure,
  fleetStatus,
  type Instance,
  instanceYaml,
  LON,
  metricOf,
  type ObserverTarget,
  sourceOf,
  startInstance,
  startTargets,
} from './fleet-harness.js';

const POPS = Object.keys(TEST_POPS);
const GRACE_MS = 2000;
let nats: NatsServer;
let targets: Record<string, ObserverTarget>;
const instances: Instance[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  targets = await startTargets();
});

afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
  for (const i of instances) rmSync(i.dir, { recursive: true, force: true });
  await Promise.all(Object.values(targets ?? {}).map((t) => t.close()));
  await nats?.close();
});

/** Which instances (by source address) probed each PoP during `ms`. */
async function probersDuring(ms: number): Promise<Map<string, string[]>> {
  for (const t of Object.values(targets)) t.reset();
  await new Promise((r) => setTimeout(r, ms));
  return new Map(POPS.map((p) => [p, [...targets[p].seen.keys()].sort()]));
}

/** UDP queries to every instance, one after another per instance, until stopped: counts answers, losses, empty answers. */
function queryStream(fleet: Instance[]) {
  const stats = { sent: 0, answered: 0, lost: 0, empty: 0 };
  let running = true;
  const loops = fleet.map(async (i) => {
    while (running) {
      stats.sent++;
      try {
        const r = await udpQuery(i.port, { name: 'cdn.example.net', type: 'A', ecs: FRA_CLIENT });
        stats.answered++;
        if (addresses(r).length === 0) stats.empty++;
      } catch {
        stats.lost++;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return {
    stats,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

describe('NATS unreachable at start', { timeout: 60_000 }, () => {
  it('serves at once with local probes of every PoP, says so, and reports not connected', async () => {
    const closed = await freePort();
    const yaml = instanceYaml(4, targets, { natsUrls: [`nats://127.0.0.1:${closed}`], bucket: 'unreachable' });
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const i = await startInstance(4, yaml, createLogger({ level: 'info', destination }));
    instances.push(i);
    await allAnswer([i], FRA, 'answers from an instance without NATS');
    await until(
      () => lines.some((l) => l.includes('cannot connect to NATS; serving with local probes')),
      'the log says it serves with local probes',
    );
    expect(await metricOf(i, 'meridian_fleet_connected')).toBe(0);
    const s = await fleetStatus(i);
    expect(s.connection.connected).toBe(false);
    expect(s.pops.every((p) => p.source === 'local')).toBe(true);
    expect(s.probes.sort()).toEqual([...POPS].sort());
    const seen = await probersDuring(1000);
    for (const p of POPS) expect(seen.get(p), p).toContain(sourceOf(4));
    // Its own probes decide: fra failing moves its answers.
    targets.fra.failAll = true;
    await allAnswer([i], LON, 'local probes take fra out', 5000);
    targets.fra.failAll = false;
    await allAnswer([i], FRA, 'local probes bring fra back', 5000);
    await i.close();
    instances.splice(instances.indexOf(i), 1);
  });
});

describe('NATS killed and restarted under a query stream', { timeout: 120_000 }, () => {
  it('holds, then probes locally, loses no query, then rejoins and converges', async () => {
    const f = { natsUrls: [nats.url], bucket: `faults-${process.pid}`, replicas: 2, grace: `${GRACE_MS}ms` };
    const fleet = await Promise.all([1, 2, 3].map((k) => startInstance(k, instanceYaml(k, targets, f))));
    instances.push(...fleet);
    await converged(fleet);
    const shared = await probersDuring(1000);
    for (const p of POPS) expect(shared.get(p), p).toHaveLength(2);

    const stream = queryStream(fleet);
    const t0 = Date.now();
    await nats.kill();
    await until(
      async () => (await Promise.all(fleet.map((i) => metricOf(i, 'meridian_fleet_connected')))).every((v) => v === 0),
      'meridian_fleet_connected 0 everywhere',
    );
    const disconnected = Date.now() - t0;
    figure('NATS killed -> meridian_fleet_connected 0 on all three', disconnected);
    // Within the grace period the last fleet verdicts hold.
    const held = await Promise.all(fleet.map(fleetStatus));
    if (Date.now() - t0 < GRACE_MS - 500)
      for (const s of held) expect(s.pops.every((p) => p.source === 'held')).toBe(true);
    await until(
      async () => (await Promise.all(fleet.map(fleetStatus))).every((s) => s.pops.every((p) => p.source === 'local')),
      'every PoP local everywhere after the grace period',
      GRACE_MS + 5000,
    );
    const local = Date.now() - t0;
    figure(`NATS killed -> local probing everywhere (grace_period ${GRACE_MS} ms)`, local);
    expect(local).toBeGreaterThanOrEqual(GRACE_MS - 100);
    const alone = await probersDuring(1000);
    for (const p of POPS) expect(alone.get(p), p).toEqual([1, 2, 3].map(sourceOf));
    // Local probes decide now: fra failing moves the answers of all three.
    targets.fra.failAll = true;
    const moved = await allAnswer(fleet, LON, 'fra out by local probes everywhere', 5000);
    figure('without NATS: PoP dead -> answers moved on all three by local probes', moved);
    targets.fra.failAll = false;
    await allAnswer(fleet, FRA, 'fra back by local probes', 5000);

    const t1 = Date.now();
    await nats.restart();
    const back = await converged(fleet, 3, 30_000);
    figure('NATS restarted -> all three connected, 3 live, every PoP decided by the fleet', Date.now() - t1);
    expect(back).toBeLessThan(30_000);
    const stats = await stream.stop();
    figure('UDP queries during the NATS outage and return', stats.sent, 'queries');
    expect(stats.lost).toBe(0);
    expect(stats.empty).toBe(0);
    expect(stats.answered).toBe(stats.sent);
    expect(stats.sent).toBeGreaterThan(100);
    await until(async () => {
      const again = await probersDuring(1000);
      return POPS.every((p) => again.get(p)?.length === 2);
    }, 'back to two probers per PoP');
    for (const i of fleet) expect(await metricOf(i, 'meridian_fleet_connected')).toBe(1);
  });
});
