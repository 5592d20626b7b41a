/**
 * Probe targets for the health tests, on 127.0.0.1 port 0: an HTTP(S) server
 * switchable between healthy and the failure modes a probe must recognise,
 * a plain TCP listener, and a "black hole" that accepts connections and
 * never answers. Each counts what it saw so tests can reason in probes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

export type HttpMode = 'ok' | '500' | 'slow' | 'body' | 'closed';

/** Free port: bind, read, close (for targets that must refuse from the start). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export class HttpTarget {
  mode: Exclude<HttpMode, 'closed'> = 'ok';
  /** Requests received (one per probe). */
  probes = 0;
  /** Fail only the next probe with this mode, then go back to `mode`. */
  private once: Exclude<HttpMode, 'closed' | 'ok'> | null = null;
  /** Probe numbers (1-based) that were failed by failNext(). */
  readonly failedProbes: number[] = [];
  /** Host header and path of the last request. */
  lastHost: string | undefined;
  lastPath: string | undefined;
  port = 0;
  private server: http.Server | https.Server;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly tls: { key: Buffer; cert: Buffer } | null,
    readonly slowMs: number,
    /** Loopback address to listen on (any of 127.0.0.0/8). */
    readonly host: string,
  ) {
    this.server = this.create();
  }

  static async start(
    opts: { tls?: { key: Buffer; cert: Buffer }; slowMs?: number; host?: string } = {},
  ): Promise<HttpTarget> {
    const t = new HttpTarget(opts.tls ?? null, opts.slowMs ?? 400, opts.host ?? '127.0.0.1');
    await t.listen(0);
    return t;
  }

  private create(): http.Server | https.Server {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.probes++;
      this.lastHost = req.headers.host;
      this.lastPath = req.url;
      let mode: string = this.mode;
      if (this.once) {
        mode = this.once;
        this.once = null;
        this.failedProbes.push(this.probes);
      }
      req.resume();
      res.on('error', () => undefined);
      if (mode === '500') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('oops');
      } else if (mode === 'body') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('MAINTENANCE');
      } else if (mode === 'slow') {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.destroyed) {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('OK');
          }
        }, this.slowMs);
        this.timers.add(timer);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK');
      }
    };
    const s = this.tls
      ? https.createServer({ key: this.tls.key, cert: this.tls.cert }, handler)
      : http.createServer(handler);
    s.on('clientError', (_e, sock) => sock.destroy());
    return s;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  failNext(mode: Exclude<HttpMode, 'closed' | 'ok'>): void {
    this.once = mode;
  }

  /** Switch to a mode; 'closed' stops listening (probes get "connection refused"), anything else (re)opens the same port. */
  async set(mode: HttpMode): Promise<void> {
    if (mode === 'closed') {
      await this.stop();
      return;
    }
    this.mode = mode;
    if (!this.server.listening) {
      this.server = this.create();
      await this.listen(this.port);
    }
  }

  private stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** A TCP listener that accepts and closes; `set(false)` stops listening (refused). */
export class TcpTarget {
  accepted = 0;
  port = 0;
  private server = net.createServer((s) => this.onConn(s));

  private onConn(s: net.Socket): void {
    this.accepted++;
    s.on('error', () => undefined);
    s.end();
  }

  static async start(): Promise<TcpTarget> {
    const t = new TcpTarget();
    await t.listen(0);
    return t;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  async set(listening: boolean): Promise<void> {
    if (listening && !this.server.listening) {
      this.server = net.createServer((s) => this.onConn(s));
      await this.listen(this.port);
    } else if (!listening && this.server.listening) {
      await new Promise<void>((r) => this.server.close(() => r()));
    }
  }

  close(): Promise<void> {
    return this.set(false);
  }
}

/** Accepts TCP connections and never reads or answers (a hung backend). */
export class BlackHole {
  accepted = 0;
  open = 0;
  maxOpen = 0;
  port = 0;
  private readonly sockets = new Set<net.Socket>();
  // Reads (and discards) the request so it notices when the prober hangs up; never writes.
  private readonly server = net.createServer((s) => {
    s.resume();
    this.accepted++;
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    this.sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      this.open--;
      this.sockets.delete(s);
    });
  });

  static async start(): Promise<BlackHole> {
    const b = new BlackHole();
    await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', () => r()));
    b.port = (b.server.address() as net.AddressInfo).port;
    return b;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A self-signed certificate for CN=localhost, made by the openssl CLI in `dir`. */
export function selfSignedCert(dir: string): { key: Buffer; cert: Buffer } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key), cert: readFileSync(cert) };
}
