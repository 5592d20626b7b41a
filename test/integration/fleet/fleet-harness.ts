/**
 * A Meridian fleet for the integration tests of issue 14: a real nats-server
 * (test/helpers/nats.ts), HTTP probe targets that answer healthy or failing
 * per remote address (so each observer can be given its own view), and
 * Meridian instances on loopback, each probing from its own 127.0.k.1
 * (`health.source_address`): in this process (MeridianServer) or as real
 * `meridian serve` processes, optionally in a mount namespace that hides a
 * directory (a geo database "missing on that host").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { MeridianServer } from '../../../src/plane/server.js';
import { CITY_DB, popsYaml, STATIC_ZONE, TEST_POPS } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { freePort } from '../../helpers/nats.js';
import { ROOT, tempDir } from '../../helpers/server.js';
import { getJson, post, scrape } from '../ops/admin-http.js';

export const TOKEN = 'fleet-test-token-0123456789';
/** Frankfurt in the fixture city database: answered fra (192.0.2.1), else lon (192.0.2.2). */
export const FRA_CLIENT = '1.0.0.0/24';
export const FRA = '192.0.2.1';
export const LON = '192.0.2.2';
/** Probe settings of every PoP: fast, so the suite takes seconds. */
export const PROBE = { interval: 0.2, fall: 2, rise: 2 };

/** The source address instance k (1-based) probes from. */
export const sourceOf = (k: number) => `127.0.${k}.1`;

/** An HTTP health endpoint for one PoP: counts requests per remote address, fails for the addresses told. */
export class ObserverTarget {
  port = 0;
  /** Remote addresses it answers 503 to; `all`: everyone. */
  readonly failFor = new Set<string>();
  failAll = false;
  /** Requests per remote address since the last reset. */
  readonly seen = new Map<string, number>();
  private readonly server = http.createServer((req, res) => {
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.seen.set(from, (this.seen.get(from) ?? 0) + 1);
    req.resume();
    const fail = this.failAll || this.failFor.has(from);
    res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(fail ? 'DOWN' : 'OK');
  });

  static async start(): Promise<ObserverTarget> {
    const t = new ObserverTarget();
    await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', () => r()));
    t.port = (t.server.address() as net.AddressInfo).port;
    return t;
  }

  reset(): void {
    this.seen.clear();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

export interface FleetOptions {
  natsUrls: string[];
  bucket: string;
  replicas?: number;
  heartbeat?: string;
  grace?: string;
  verdict?: string;
  follow?: boolean;
  stateFile?: boolean;
}

/** One instance's config: the test PoPs probed at `targets`, identity ns<k> (NSID and id.server say it), source 127.0.k.1, a fleet section. */
export function instanceYaml(
  k: number,
  targets: Record<string, ObserverTarget>,
  f: FleetOptions,
  zones = STATIC_ZONE,
): string {
  const health = Object.fromEntries(
    Object.keys(TEST_POPS).map((id) => [
      id,
      `health: { type: http, target: 127.0.0.1, port: ${targets[id].port}, path: /health, expect_body: OK, interval: ${PROBE.interval}s, timeout: 150ms, fall: ${PROBE.fall}, rise: ${PROBE.rise} }`,
    ]),
  );
  return `server:
  identity: ns${k}
  server_id: identity
admin:
  listen: 127.0.0.1:0
  token: ${TOKEN}${f.stateFile ? '\n  state_file: admin_state' : ''}
geo:
  databases: [${JSON.stringify(CITY_DB)}]
health:
  source_address: ${sourceOf(k)}
pops:
${popsYaml(TEST_POPS, health)}
policies:
  nearest:
    candidates: 3
    steps:
      - nearest: {}
zones:${zones}
fleet:
  servers: ${JSON.stringify(f.natsUrls)}
  bucket: ${f.bucket}
  verdict: ${f.verdict ?? 'quorum'}
  probe_replicas: ${f.replicas ?? 2}
  heartbeat: ${f.heartbeat ?? '500ms'}
  grace_period: ${f.grace ?? '2s'}
  config: ${f.follow ? 'follow' : 'local'}
`;
}

/** What the tests need of an instance, whether in this process or a child. */
export interface Instance {
  k: number;
  name: string;
  port: number;
  admin: number;
  dir: string;
  configFile: string;
  /** In-process only. */
  server?: MeridianServer;
  child?: ChildProcess;
  log?: () => string;
  close(): Promise<void>;
}

export async function startTargets(): Promise<Record<string, ObserverTarget>> {
  const entries = await Promise.all(
    Object.keys(TEST_POPS).map(async (id) => [id, await ObserverTarget.start()] as const),
  );
  return Object.fromEntries(entries);
}

/** Instance k in this process. */
export async function startInstance(k: number, yaml: string, logger?: Logger): Promise<Instance> {
  const dir = tempDir(`meridian-fleet-ns${k}-`);
  const configFile = path.join(dir, 'meridian.yaml');
  writeFileSync(configFile, yaml);
  const server = await MeridianServer.start({ configFile, listen: ['127.0.0.1:0'], admin: '127.0.0.1:0', logger });
  return {
    k,
    name: `ns${k}`,
    port: server.addresses[0].port,
    admin: server.adminPort!,
    dir,
    configFile,
    server,
    close: () => server.close(100),
  };
}

/**
 * Instance k as a real `meridian serve` process (TypeScript through tsx),
 * with `args` added (for example --workers 2). With `hide`, it runs in its
 * own mount namespace where that directory is an empty tmpfs: what is in
 * it is missing on this "host".
 */
export async function spawnInstance(
  k: number,
  yaml: string,
  o: { args?: string[]; hide?: string } = {},
): Promise<Instance> {
  const dir = tempDir(`meridian-fleet-ns${k}-`);
  const configFile = path.join(dir, 'meridian.yaml');
  writeFileSync(configFile, yaml);
  const port = await freePort();
  const admin = await freePort();
  const argv = [
    process.execPath,
    '--import',
    'tsx',
    path.join(ROOT, 'src', 'cli.ts'),
    'serve',
    '--config',
    configFile,
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    `127.0.0.1:${admin}`,
    '--log-format',
    'json',
    ...(o.args ?? []),
  ];
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = o.hide
    ? spawn('unshare', ['--mount', 'sh', '-c', `mount -t tmpfs none '${o.hide}' && exec ${quoted}`], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${log.slice(-2000)}`);
        return addresses(await udpQuery(port, { name: 'www.example.net' })).length === 1;
      },
      `ns${k} (a process) answering`,
      90_000,
      250,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    k,
    name: `ns${k}`,
    port,
    admin,
    dir,
    configFile,
    child,
    log: () => log,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The first address answered to the Frankfurt client. */
export async function fraAnswer(port: number): Promise<string | undefined> {
  return addresses(await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs: FRA_CLIENT }))[0];
}

/** Poll until every instance answers the Frankfurt client with `addr`; returns the milliseconds it took. */
export async function allAnswer(
  instances: Instance[],
  addr: string,
  what: string,
  timeoutMs = 15_000,
): Promise<number> {
  const t0 = Date.now();
  await until(
    async () => (await Promise.all(instances.map((i) => fraAnswer(i.port)))).every((a) => a === addr),
    what,
    timeoutMs,
    20,
  );
  return Date.now() - t0;
}

export interface FleetStatus {
  instance: string;
  connection: { connected: boolean };
  config: { mode: string; running: { version: number | null }; published: { version: number } | null };
  members: Array<{
    instance: string;
    alive: boolean;
    configVersion: number | null;
    configError: string | null;
    probes: string[];
  }>;
  live: string[];
  probes: string[];
  pops: Array<{
    pop: string;
    probers: string[];
    source: string;
    up: boolean | null;
    votesUp: number;
    votesDown: number;
    votes: Array<{ instance: string; up: boolean; fresh: boolean; reason: string | null }>;
    override: { override: string; by: string } | null;
  }>;
}

export const fleetStatus = (i: Instance) => getJson<FleetStatus>(i.admin, '/admin/fleet');

/** Poll until every instance sees `n` live members and decides every PoP by the fleet. */
export async function converged(instances: Instance[], n = instances.length, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  await until(
    async () => {
      const all = await Promise.all(instances.map(fleetStatus));
      return all.every(
        (s) => s.connection.connected && s.live.length === n && s.pops.every((p) => p.source === 'fleet'),
      );
    },
    `${instances.length} instances converged on ${n} live members, every PoP decided by the fleet`,
    timeoutMs,
    50,
  );
  return Date.now() - t0;
}

export async function metricOf(
  i: Instance,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const s = (await scrape(i.admin)).filter(
    (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
  );
  return s.length ? s.reduce((a, x) => a + x.value, 0) : undefined;
}

export const override = (i: Instance, pop: string, action: string, scope?: 'fleet' | 'local') =>
  post(i.admin, `/admin/pops/${pop}/${action}${scope ? `?scope=${scope}` : ''}`, TOKEN);

/** Figures measured by the suite, printed for the record (docs/fleet.md's failure table). */
export function figure(what: string, value: number, unit = 'ms'): void {
  process.stdout.write(`[fleet figure] ${what}: ${value} ${unit}\n`);
}
