/**
 * A real nats-server (Debian's /usr/sbin/nats-server, 2.9.x) for tests: JetStream
 * on, loopback only, a random client port chosen by the server itself (`-p -1`,
 * read back from its log so no other process can take it first), a temporary
 * store directory kept across kill/restart so a restart finds its streams again.
 * Also a three-node JetStream cluster on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  storeDir: string;
  /** SIGKILL the server (no clean shutdown), wait until it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port and store directory. */
  restart(): Promise<void>;
  /** Stop for good and remove the store directory. */
  close(): Promise<void>;
  running(): boolean;
}

interface Spawned {
  proc: ChildProcess;
  port: number;
}

/** Start nats-server with `args`; resolve with the client port once it accepts connections. */
function spawnServer(args: string[], timeoutMs = 15_000): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const proc = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let port = 0;
    const timer = setTimeout(
      () => fail(new Error(`nats-server did not become ready in ${timeoutMs} ms:\n${log}`)),
      timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m) port = Number(m[1]);
      // "Server is ready" comes after JetStream has recovered its streams.
      if (port && /Server is ready/.test(log)) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stderr!.off('data', onData);
        proc.stdout!.resume();
        proc.stderr!.resume();
        resolve({ proc, port });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('error', fail);
    proc.once('exit', (code) => fail(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
}

function waitExit(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

async function stop(proc: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!proc) return;
  proc.removeAllListeners('exit');
  const gone = waitExit(proc);
  proc.kill(signal);
  await gone;
}

/** Wrap a started server: kill/restart keep its port and store directory. */
function managed(port: number, storeDir: string, args: string[], first: ChildProcess, timeoutMs: number): NatsServer {
  let current: ChildProcess | null = first;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    running: () => current !== null,
    kill: async () => {
      await stop(current, 'SIGKILL');
      current = null;
    },
    restart: async () => {
      await stop(current, 'SIGKILL');
      current = (await spawnServer(args, timeoutMs)).proc;
    },
    close: async () => {
      await stop(current, 'SIGTERM');
      current = null;
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** One JetStream server on 127.0.0.1 (on `opts.port`, else a port it picks). `extra` adds flags (for example `-m 0`). */
export async function startNatsServer(extra: string[] = [], opts: { port?: number } = {}): Promise<NatsServer> {
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'meridian-nats-'));
  const args = (port: number) => ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, ...extra];
  const { proc, port } = await spawnServer(args(opts.port ?? -1));
  return managed(port, storeDir, args(port), proc, 15_000);
}

/** A free TCP port on 127.0.0.1 (for cluster route ports, which must be known before start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface NatsCluster {
  nodes: NatsServer[];
  /** Every node's client URL (what a client is given as its server list). */
  urls: string[];
  close(): Promise<void>;
}

/** A three-node JetStream cluster on loopback (routes between all nodes). */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const clientPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const nodes: NatsServer[] = await Promise.all(
    routePorts.map(async (routePort, i) => {
      const storeDir = mkdtempSync(path.join(os.tmpdir(), `meridian-nats-c${i}-`));
      const args = [
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(clientPorts[i]),
        '-sd',
        storeDir,
        '-n',
        `n${i}`,
        '--cluster_name',
        'meridian-test',
        '-cluster',
        `nats://127.0.0.1:${routePort}`,
        '-routes',
        routes,
      ];
      return managed(clientPorts[i], storeDir, args, (await spawnServer(args, 30_000)).proc, 30_000);
    }),
  );
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}
