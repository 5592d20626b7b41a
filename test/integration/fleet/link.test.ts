/**
 * FleetLink against a real nats-server 2.9 (src/plane/fleet/link.ts): three links
 * in this process (and one in a child process that is SIGKILLed), each
 * reporting its share of PoPs as a health monitor would. Covers membership,
 * rendezvous shares, quorum verdicts, fleet-wide overrides within 1 s, a dead
 * member's expiry within two heartbeats, NATS unreachable at start, NATS
 * killed and restarted (held, then local, then converged again), and config
 * bundles published and followed. Conditions are polled with deadlines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, sha256, type ConfigBundle } from '../../../src/plane/fleet/bundle.js';
import { fleetSchema, type FleetConfig } from '../../../src/plane/fleet/config.js';
import type { FleetView } from '../../../src/plane/fleet/decide.js';
import { ConfigFollower, readCurrent } from '../../../src/plane/fleet/follow.js';
import { FleetLink } from '../../../src/plane/fleet/link.js';
import { buildSnapshotFromFile } from '../../../src/build/snapshot.js';
import { until } from '../../helpers/dns.js';
import { freePort, startNatsServer, type NatsServer } from '../../helpers/nats.js';
import { publisherDir } from '../../helpers/fleet-config.js';
import { ROOT, tempDir } from '../../helpers/server.js';

const POPS = ['fra', 'ams', 'syd', 'sin', 'nyc', 'gru'];
/** Probe interval of the simulated health monitors, seconds. */
const PROBE_INTERVAL = 0.2;
const HEARTBEAT_MS = 1000;

let server: NatsServer;
const cleanups: Array<() => Promise<void> | void> = [];
let bucketSeq = 0;

beforeAll(async () => {
  server = await startNatsServer();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await server?.close();
});

function fleetConfig(servers: string[], over: Record<string, unknown> = {}): FleetConfig {
  return fleetSchema.parse({
    servers,
    bucket: `t${process.pid}-${++bucketSeq}`,
    heartbeat: `${HEARTBEAT_MS}ms`,
    grace_period: '2s',
    ...over,
  });
}

/** Start a link and report its share every probe interval: `truth(pop)` is what its probes see. */
function member(config: FleetConfig, instance: string, truth: (pop: string) => boolean = () => true): FleetLink {
  const link = FleetLink.start({ config, instance, baseDir: ROOT, pops: POPS });
  const timer = setInterval(() => {
    for (const pop of link.view().probes) {
      const up = truth(pop);
      link.observe(pop, { up, reason: up ? null : 'refused', rttMs: 1, interval: PROBE_INTERVAL });
    }
  }, PROBE_INTERVAL * 1000);
  cleanups.push(async () => {
    clearInterval(timer);
    await link.close();
  });
  return link;
}

const popState = (v: FleetView, pop: string) => v.pops.find((p) => p.pop === pop)!;
const allFleet = (links: FleetLink[]) => links.every((l) => l.view().pops.every((p) => p.source === 'fleet'));

describe('FleetLink with three members on one nats-server', () => {
  it('membership, identical rendezvous shares of R probers, and only the share is probed', async () => {
    const config = fleetConfig([server.url], { probe_replicas: 2 });
    const links = ['ns1', 'ns2', 'ns3'].map((n) => member(config, n));
    await until(() => links.every((l) => l.view().live.length === 3), 'three live members everywhere');
    await until(() => allFleet(links), 'every PoP decided by the fleet everywhere');
    const shares = links.map((l) => l.view().pops.map((p) => p.probers));
    expect(shares[1]).toEqual(shares[0]);
    expect(shares[2]).toEqual(shares[0]);
    for (const probers of shares[0]) expect(probers.length).toBe(2);
    // Each instance probes its share only: R x PoPs probes in all, not N x PoPs.
    const probes = links.map((l) => l.view().probes.length);
    expect(probes.reduce((a, b) => a + b, 0)).toBe(2 * POPS.length);
    for (const [i, l] of links.entries())
      expect(l.view().probes).toEqual(POPS.filter((p) => shares[0][POPS.indexOf(p)].includes(`ns${i + 1}`)));
    expect(links[0].view().members.map((m) => [m.instance, m.alive])).toEqual([
      ['ns1', true],
      ['ns2', true],
      ['ns3', true],
    ]);
  });

  it('quorum: one dissenting observer of three changes nothing; two of three take the PoP down everywhere', async () => {
    const config = fleetConfig([server.url], { probe_replicas: 3 });
    const failingFor = new Set<string>();
    const links = ['ns1', 'ns2', 'ns3'].map((n) => member(config, n, (pop) => !(pop === 'fra' && failingFor.has(n))));
    await until(() => allFleet(links), 'fleet verdicts everywhere');
    failingFor.add('ns1');
    await until(
      () => links.every((l) => popState(l.view(), 'fra').verdict.down === 1),
      'the dissenting vote seen everywhere',
    );
    for (const l of links)
      expect([popState(l.view(), 'fra').up, popState(l.view(), 'fra').verdict.up]).toEqual([true, 2]);
    failingFor.add('ns2');
    const t0 = Date.now();
    await until(() => links.every((l) => popState(l.view(), 'fra').up === false), 'fra down everywhere', 3000);
    console.log(
      `fleet: the second "down" vote turned fra down on all three ${Date.now() - t0} ms later (probe interval ${PROBE_INTERVAL * 1000} ms)`,
    );
    const fra = popState(links[2].view(), 'fra');
    expect([fra.source, fra.rule, fra.verdict.up, fra.verdict.down]).toEqual(['fleet', 'quorum', 1, 2]);
    expect(
      fra.verdict.votes
        .filter((v) => !v.up)
        .map((v) => [v.instance, v.reason])
        .sort(),
    ).toEqual([
      ['ns1', 'refused'],
      ['ns2', 'refused'],
    ]);
    failingFor.clear();
    await until(() => links.every((l) => popState(l.view(), 'fra').up === true), 'fra back up everywhere', 3000);
  });

  it('a fleet-wide override set through one instance is seen by all three within 1 s, and cleared the same way', async () => {
    const config = fleetConfig([server.url]);
    const links = ['ns1', 'ns2', 'ns3'].map((n) => member(config, n));
    await until(() => links.every((l) => l.connection().connected), 'connected');
    const t0 = Date.now();
    await links[0].setOverride('ams', 'drain', 'ns1 admin API');
    await until(
      () => links.every((l) => popState(l.view(), 'ams').override?.override === 'drain'),
      'drain on all three',
      1000,
    );
    console.log(`fleet: a drain set through ns1 was seen by all three ${Date.now() - t0} ms later`);
    expect(popState(links[2].view(), 'ams').override!.by).toBe('ns1 admin API');
    await links[1].setOverride('ams', null);
    await until(() => links.every((l) => popState(l.view(), 'ams').override === null), 'cleared on all three', 1000);
    // A change announces itself to the health side.
    const changes: FleetView[] = [];
    links[2].onChange((v) => changes.push(v));
    await links[0].setOverride('syd', 'force-down');
    await until(
      () => changes.some((v) => popState(v, 'syd').override?.override === 'force-down'),
      'a change event',
      1000,
    );
  });

  it('a member killed without a goodbye expires within two heartbeats and its share moves', async () => {
    const config = fleetConfig([server.url], { probe_replicas: 1 });
    const links = ['ns1', 'ns2'].map((n) => member(config, n));
    const child = spawnMember(config, 'ns3');
    cleanups.push(() => void child.kill('SIGKILL'));
    await until(
      () => links.every((l) => l.view().live.length === 3) && allFleet(links),
      'three members, fleet verdicts',
    );
    const share = links[0]
      .view()
      .pops.filter((p) => p.probers.includes('ns3'))
      .map((p) => p.pop);
    expect(share.length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await until(() => links.every((l) => !l.view().live.includes('ns3')), 'ns3 expired everywhere', 2 * HEARTBEAT_MS);
    const expiredAfter = Date.now() - killedAt;
    console.log(
      `fleet: a SIGKILLed member expired everywhere ${expiredAfter} ms after the kill (heartbeat ${HEARTBEAT_MS} ms)`,
    );
    for (const pop of share)
      expect(popState(links[0].view(), pop).probers).toEqual(popState(links[1].view(), pop).probers);
    expect(links.flatMap((l) => l.view().probes).sort()).toEqual([...POPS].sort());
    // Its PoPs keep fleet verdicts: the new probers report before the old votes go stale.
    await until(() => allFleet(links), 'fleet verdicts after the hand-over');
    expect(expiredAfter).toBeLessThanOrEqual(2 * HEARTBEAT_MS + 100);
  });

  it('a clean shutdown leaves at once', async () => {
    const config = fleetConfig([server.url]);
    const a = member(config, 'ns1');
    const b = FleetLink.start({ config, instance: 'ns2', baseDir: ROOT, pops: POPS });
    await until(() => a.view().live.length === 2, 'two members');
    await b.close();
    await until(() => a.view().live.length === 1, 'ns2 gone', HEARTBEAT_MS);
  });

  it('config bundles: published through one instance, received and checked by all followers', async () => {
    const config = fleetConfig([server.url], { config: 'follow' });
    const links = ['ns1', 'ns2', 'ns3'].map((n) => member(config, n));
    const got = links.map(() => [] as ConfigBundle[]);
    links.forEach((l, i) => l.onBundle((b) => got[i].push(b)));
    await until(() => links.every((l) => l.connection().connected), 'connected');
    const bundle: ConfigBundle = {
      format: 1,
      version: 0,
      published_at: Date.now(),
      published_by: 'test',
      config: 'meridian.yaml',
      files: [
        {
          path: 'meridian.yaml',
          sha256: '3f0b7b6fce1d6cd4b3e9df6b6c8a13ec6fd0b1d1a11d1e1a7f2e8a4bd4bde8e5',
          content: '',
        },
      ],
      databases: [],
    };
    // A damaged bundle is refused by the followers (the content does not match its digest), and reported.
    const p1 = await links[0].publishBundle(bundle);
    expect(p1.version).toBe(1);
    await until(
      () =>
        links.every((l) =>
          l
            .view()
            .members.find((m) => m.self)
            ?.configError?.startsWith('v1:'),
        ),
      'v1 refused and reported everywhere',
    );
    expect(got.flat()).toEqual([]);
    const text = 'zones: []\n';
    const good: ConfigBundle = {
      ...bundle,
      files: [{ path: 'meridian.yaml', sha256: sha256(text), content: Buffer.from(text).toString('base64') }],
    };
    const p2 = await links[1].publishBundle(good);
    expect(p2.version).toBe(2);
    await until(() => got.every((g) => g.length === 1), 'v2 received by all three', 5000);
    for (const g of got)
      expect([g[0].version, Buffer.from(g[0].files[0].content, 'base64').toString()]).toEqual([2, text]);
    // Followers report what they run; everyone sees it in the members' heartbeats.
    links.forEach((l) => l.setRunningConfig(2, p2.sha256));
    await until(
      () => links[0].view().members.every((m) => m.configVersion === 2 && m.configError === null),
      'v2 reported by all',
    );
    expect(links[2].publishedConfig()).toEqual(p2);
  });
});

describe('following the published config', () => {
  it('a published version runs on every follower within 5 s; one that fails on a host leaves that host on its last good version, reported', async () => {
    const config = fleetConfig([server.url], { config: 'follow' });
    const pub = publisherDir();
    cleanups.push(() => rmSync(pub.dir, { recursive: true, force: true }));
    const refuseOn = new Set<string>();
    const followers = ['ns1', 'ns2', 'ns3'].map((name) => {
      const link = member(config, name);
      const stateDir = tempDir(`meridian-follow-${name}-`);
      cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
      // The reload path's stand-in: the real compiler, and a host that cannot run what it is given.
      const apply = async (file: string) => {
        if (refuseOn.has(name)) throw new Error(`geo database ${pub.db}: missing on this host`);
        return { sha256: buildSnapshotFromFile(file).hash };
      };
      return { name, link, stateDir, follower: new ConfigFollower(link, { stateDir, apply }) };
    });
    await until(() => followers.every((f) => f.link.connection().connected), 'connected');
    const files = ['zones/example.org.zone'];
    const databases = [{ path: 'geo/city.mmdb', resolved: pub.db }];
    const t0 = Date.now();
    const p1 = await followers[0].link.publishBundle(
      await buildBundle({ configFile: pub.configFile, files, databases, publishedBy: 'ns1' }),
    );
    await until(
      () => followers.every((f) => f.follower.current()?.version === p1.version),
      'v1 running on all three',
      5000,
    );
    console.log(`fleet: a published config was running on all three ${Date.now() - t0} ms after publish`);
    for (const f of followers) expect(await readCurrent(f.stateDir)).toEqual(f.follower.current());
    const sha1 = followers[0].link.view().members.find((m) => m.self)!.configSha256;
    expect(sha1).toMatch(/^[0-9a-f]{64}$/);

    // v2 changes the zone file; ns3 cannot run it.
    refuseOn.add('ns3');
    writeFileSync(
      path.join(pub.dir, 'zones', 'example.org.zone'),
      `${readFileSync(path.join(pub.dir, 'zones', 'example.org.zone'), 'utf8')}\nextra.example.org. 300 IN TXT "v2"\n`,
    );
    const p2 = await followers[1].link.publishBundle(
      await buildBundle({ configFile: pub.configFile, files, databases, publishedBy: 'ns2' }),
    );
    expect(p2.version).toBe(p1.version + 1);
    await until(
      () => followers.slice(0, 2).every((f) => f.follower.current()?.version === p2.version),
      'v2 running on ns1 and ns2',
      5000,
    );
    await until(
      () =>
        followers[0].link
          .view()
          .members.find((m) => m.instance === 'ns3')
          ?.configError?.startsWith(`v${p2.version}: geo database`),
      'ns3 reports its refusal to everyone',
      5000,
    );
    const ns3 = followers[0].link.view().members.find((m) => m.instance === 'ns3')!;
    expect([ns3.configVersion, ns3.configSha256]).toEqual([p1.version, sha1]);
    expect(followers[2].follower.current()?.version).toBe(p1.version);
    expect((await readCurrent(followers[2].stateDir))?.version).toBe(p1.version);
    await until(
      () =>
        followers[2].link.view().members.filter((m) => m.configVersion === p2.version && m.configError === null)
          .length === 2,
      'ns1 and ns2 report v2',
    );

    // A version that does not compile (here the zone puts data under a delegation) runs nowhere; each says where it broke.
    refuseOn.clear();
    writeFileSync(
      path.join(pub.dir, 'zones', 'example.org.zone'),
      `${readFileSync(path.join(pub.dir, 'zones', 'example.org.zone'), 'utf8')}\nextra 300 IN TXT "under lab"\n`,
    );
    const p3 = await followers[0].link.publishBundle(
      await buildBundle({ configFile: pub.configFile, files, databases, publishedBy: 'ns1' }),
    );
    await until(
      () => followers[0].link.view().members.filter((m) => m.configError?.startsWith(`v${p3.version}: `)).length === 3,
      'v3 refused by all three',
    );
    for (const m of followers[0].link.view().members)
      expect(m.configError).toMatch(/meridian\.yaml:\d+:\d+: zones\[0\]\.records: .*below the delegation/);
    expect(followers.map((f) => f.follower.current()?.version)).toEqual([p2.version, p2.version, p1.version]);
  });
});

describe('FleetLink when NATS is not there', () => {
  it('unreachable at start: every PoP is local and probed here; the server appears: it joins', async () => {
    const port = await freePort();
    const config = fleetConfig([`nats://127.0.0.1:${port}`]);
    const link = member(config, 'ns1');
    await new Promise((r) => setTimeout(r, 300));
    expect(link.connection().connected).toBe(false);
    expect(link.connection().lastError).toBeTruthy();
    expect(link.view().pops.every((p) => p.source === 'local')).toBe(true);
    expect(link.view().probes).toEqual(POPS);
    await expect(link.setOverride('fra', 'drain')).rejects.toMatchObject({ code: 'MERIDIAN_ERR_FLEET' });
    const late = await startNatsServer([], { port });
    cleanups.push(() => late.close());
    await until(() => link.connection().connected, 'connected once the server is up', 10_000);
    await until(() => link.view().pops.every((p) => p.source === 'fleet'), 'fleet verdicts');
  });

  it('killed mid-run: verdicts held for the grace period, then local; restarted: all three converge again', async () => {
    const own = await startNatsServer();
    cleanups.push(() => own.close());
    const config = fleetConfig([own.url], { probe_replicas: 2 });
    const links = ['ns1', 'ns2', 'ns3'].map((n) => member(config, n, (pop) => pop !== 'syd'));
    await until(
      () => allFleet(links) && links.every((l) => popState(l.view(), 'syd').up === false),
      'fleet verdicts, syd down',
    );
    await links[0].setOverride('ams', 'drain');
    await until(() => links.every((l) => popState(l.view(), 'ams').override !== null), 'drain everywhere');
    await own.kill();
    const killedAt = Date.now();
    await until(() => links.every((l) => !l.connection().connected), 'disconnected everywhere');
    // Held: the same verdicts as before, and the fleet override stays (operator intent survives an outage).
    for (const l of links) {
      expect(popState(l.view(), 'syd')).toMatchObject({ source: 'held', up: false });
      expect(popState(l.view(), 'ams').override?.override).toBe('drain');
    }
    await until(
      () => links.every((l) => l.view().pops.every((p) => p.source === 'local')),
      'local after the grace period',
      5000,
    );
    // The grace runs from the last evaluation that had the verdict (a tick, HEARTBEAT_MS/4, before the kill at most).
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(config.grace_period * 1000 - HEARTBEAT_MS / 4);
    for (const l of links) expect(l.view().probes).toEqual(POPS);
    await own.restart();
    const restartedAt = Date.now();
    await until(() => links.every((l) => l.connection().connected), 'reconnected everywhere', 10_000);
    await until(() => allFleet(links) && links.every((l) => l.view().live.length === 3), 'converged again', 5000);
    console.log(
      `fleet: NATS restarted; all three reconnected and back on fleet verdicts ${Date.now() - restartedAt} ms later`,
    );
    for (const l of links) {
      expect(popState(l.view(), 'syd').up).toBe(false);
      expect(popState(l.view(), 'ams').override?.override).toBe('drain');
      // Back to probing its share only.
      expect(l.view().probes).toEqual(POPS.filter((p) => popState(l.view(), p).probers.includes(l.instance)));
    }
  });
});

function spawnMember(config: FleetConfig, instance: string): ChildProcess {
  const script = path.join(ROOT, 'test', 'integration', 'fleet', 'fleet-member.ts');
  // One process (node with the tsx loader), so SIGKILL kills the member itself and not a wrapper.
  return spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config), instance, POPS.join(',')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}
