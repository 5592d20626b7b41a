/**
 * The admin HTTP listener (loopback by default): /metrics, /healthz, /readyz,
 * /explain, /map, and the PoP admin API. Reads are open; writes need
 * `Authorization: Bearer <token>`, and with no token configured the API is
 * read-only (403). Never on the query path.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { AdminError } from '../errors.js';
import type { Override } from '../health/state-machine.js';

export interface AdminHandlers {
  registry: Registry;
  /** Token for write calls; null = read-only. */
  token(): string | null;
  /** Why the API is read-only (said in the 403), when token() is null. */
  readOnlyReason?(): string;
  ready(): { ready: boolean; detail: unknown };
  explain(name: string, type: string, client: string): unknown;
  pops(): unknown;
  setOverride(pop: string, override: Override | null): boolean;
  reload(): Promise<{ ok: boolean; message: string }>;
  map?(): string;
}

const OVERRIDES: Record<string, Override | null> = { drain: 'drain', 'force-up': 'force-up', 'force-down': 'force-down', clear: null, undrain: null };

function send(res: http.ServerResponse, status: number, body: string | object, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

function authorize(req: http.IncomingMessage, token: string | null, readOnlyReason = 'no admin token is configured (admin.token or admin.token_env)'): void {
  if (token === null) throw new AdminError(403, `read-only: ${readOnlyReason}`);
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new AdminError(401, 'missing or wrong bearer token');
}

async function route(h: AdminHandlers, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const method = req.method ?? 'GET';
  if (method === 'GET' && url.pathname === '/metrics') {
    send(res, 200, await h.registry.metrics(), h.registry.contentType);
    return;
  }
  if (method === 'GET' && url.pathname === '/healthz') return send(res, 200, 'ok\n', 'text/plain');
  if (method === 'GET' && url.pathname === '/readyz') {
    const r = h.ready();
    return send(res, r.ready ? 200 : 503, { ready: r.ready, ...(r.detail as object) });
  }
  if (method === 'GET' && url.pathname === '/explain') {
    const name = url.searchParams.get('name');
    const client = url.searchParams.get('client');
    if (!name || !client) throw new AdminError(400, 'explain needs ?name=&client= (and optionally &type=A|AAAA)');
    return send(res, 200, h.explain(name, url.searchParams.get('type') ?? 'A', client) as object);
  }
  if (method === 'GET' && url.pathname === '/map' && h.map) return send(res, 200, h.map(), 'text/html; charset=utf-8');
  if (method === 'GET' && (url.pathname === '/admin/pops' || url.pathname === '/admin/pops/')) return send(res, 200, h.pops() as object);
  const m = /^\/admin\/pops\/([^/]+)\/([a-z-]+)$/.exec(url.pathname);
  if (m && method === 'POST') {
    authorize(req, h.token(), h.readOnlyReason?.());
    if (!(m[2] in OVERRIDES)) throw new AdminError(404, `unknown action "${m[2]}" (drain, undrain, force-up, force-down, clear)`);
    if (!h.setOverride(decodeURIComponent(m[1]), OVERRIDES[m[2]])) throw new AdminError(404, `unknown PoP "${m[1]}"`);
    return send(res, 200, { pop: m[1], action: m[2] });
  }
  if (method === 'POST' && url.pathname === '/admin/reload') {
    authorize(req, h.token(), h.readOnlyReason?.());
    const r = await h.reload();
    return send(res, r.ok ? 200 : 422, r);
  }
  throw new AdminError(404, `no route for ${method} ${url.pathname}`);
}

export interface AdminServer {
  address: AddressInfo;
  close(): Promise<void>;
}

export function startAdminServer(host: string, port: number, h: AdminHandlers): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    route(h, req, res).catch((err: unknown) => {
      if (err instanceof AdminError) send(res, err.status, { error: err.message });
      else send(res, 500, { error: (err as Error).message });
    });
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10000;
  server.requestTimeout = 30000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        address: server.address() as AddressInfo,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
