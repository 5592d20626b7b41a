/**
 * The admin HTTP listener (loopback by default): /metrics, /healthz, /readyz,
 * /explain, /map, and the PoP admin API. Reads are open; writes need
 * `Authorization: Bearer <token>`, and with no token configured the API is
 * read-only (403). Never on the query path.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { AdminError, FleetError } from '../errors.js';
import type { Override } from '../health/state-machine.js';

export interface AdminHandlers {
  registry: Registry;
  /** Token for write calls; null = read-only. */
  token(): string | null;
  /** Why the API is read-only (said in the 403), when token() is null. */
  readOnlyReason?(): string;
  ready(): { ready: boolean; detail: unknown };
  /** Explain a decision; bad input throws AdminError(400). */
  explain(name: string, type: string, client: string): Promise<unknown>;
  pops(): unknown;
  /** Set or clear an override; `scope` is the ?scope= parameter (fleet, local; null: the default). False: unknown PoP. */
  setOverride(pop: string, override: Override | null, scope: 'fleet' | 'local' | null): boolean | Promise<boolean>;
  /** GET /admin/fleet (only with a fleet). */
  fleet?(): unknown;
  reload(): Promise<{ ok: boolean; held?: unknown; message: string }>;
  /** The reload state (running compile, bounds, held change). */
  reloadStatus?(): unknown;
  /** Apply the held change `id`; throws AdminError(409) when there is none or another. */
  accept?(id: string): { ok: boolean; message: string };
  /** The live map page for geo record `name` (default: the first). */
  map?(name: string | undefined): Promise<string>;
  /** The `limit` busiest response-rate-limiting buckets, limited ones first. */
  rrl?(limit: number): Promise<unknown>;
}

/** Admin listener limits: the API is for operators and scrapers, a handful of clients. */
export const ADMIN_LIMITS = {
  /** Connections open at once; more are closed on accept. */
  maxConnections: 64,
  /** Request line and headers; a longer URL gets 431. */
  maxHeaderBytes: 8192,
  /** A client must send its headers within this (slow clients get 408). */
  headersTimeoutMs: 5000,
  /** The whole request. */
  requestTimeoutMs: 15000,
  keepAliveTimeoutMs: 5000,
  /** How often Node checks the two timeouts above. */
  checkIntervalMs: 1000,
} as const;

const OVERRIDES: Readonly<Record<string, Override | null>> = Object.freeze({
  drain: 'drain',
  'force-up': 'force-up',
  'force-down': 'force-down',
  clear: null,
  undrain: null,
});

function send(
  res: http.ServerResponse,
  status: number,
  body: string | object,
  type = 'application/json',
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
  res.end(text);
}

/** sha256 of a token: both sides have 32 bytes, so the comparison below leaks neither content nor length. */
const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

function authorize(
  req: http.IncomingMessage,
  token: string | null,
  readOnlyReason = 'no admin token is configured (admin.token or admin.token_env)',
): void {
  if (token === null) throw new AdminError(403, `read-only: ${readOnlyReason}`);
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  if (!timingSafeEqual(digest(given), digest(token))) throw new AdminError(401, 'missing or wrong bearer token');
}

/** decodeURIComponent, with a malformed percent-escape answered 400 instead of thrown. */
function decodeSegment(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new AdminError(400, `malformed percent-escape in the ${what}`);
  }
}

/** One query parameter, strictly: present at most once, its escapes well-formed. */
function param(raw: string, name: string): string | null {
  let found: string | null = null;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decodeSegment((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '), 'query');
    if (key !== name) continue;
    if (found !== null) throw new AdminError(400, `query parameter "${name}" given more than once`);
    found = eq < 0 ? '' : decodeSegment(part.slice(eq + 1).replace(/\+/g, ' '), 'query');
  }
  return found;
}

/** Paths and the methods they take (for 405 and Allow). */
const ROUTES: Record<string, string> = {
  '/metrics': 'GET',
  '/healthz': 'GET',
  '/readyz': 'GET',
  '/explain': 'GET',
  '/map': 'GET',
  '/admin/pops': 'GET',
  '/admin/fleet': 'GET',
  '/admin/reload': 'GET, POST',
  '/admin/rrl': 'GET',
};

/** Buckets GET /admin/rrl lists by default, and at most. */
const RRL_LIST_DEFAULT = 20;
const RRL_LIST_MAX = 1000;

async function route(h: AdminHandlers, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) throw new AdminError(400, 'request target must be a path');
  const q = target.indexOf('?');
  const pathname = decodeSegment(q < 0 ? target : target.slice(0, q), 'path');
  const query = q < 0 ? '' : target.slice(q + 1);
  const method = req.method ?? 'GET';
  if (method === 'GET' && pathname === '/metrics') {
    send(res, 200, await h.registry.metrics(), h.registry.contentType);
    return;
  }
  if (method === 'GET' && pathname === '/healthz') return send(res, 200, 'ok\n', 'text/plain');
  if (method === 'GET' && pathname === '/readyz') {
    const r = h.ready();
    return send(res, r.ready ? 200 : 503, { ready: r.ready, ...(r.detail as object) });
  }
  if (method === 'GET' && pathname === '/explain') {
    const name = param(query, 'name');
    const client = param(query, 'client');
    if (!name || !client) throw new AdminError(400, 'explain needs ?name=&client= (and optionally &type=A|AAAA)');
    return send(res, 200, (await h.explain(name, param(query, 'type') ?? 'A', client)) as object);
  }
  if (method === 'GET' && pathname === '/map' && h.map)
    return send(res, 200, await h.map(param(query, 'name') ?? undefined), 'text/html; charset=utf-8');
  if (method === 'GET' && pathname === '/admin/rrl' && h.rrl) {
    const text = param(query, 'limit');
    const limit = text === null ? RRL_LIST_DEFAULT : Number(text);
    if (!Number.isInteger(limit) || limit < 1 || limit > RRL_LIST_MAX)
      throw new AdminError(400, `limit= is a whole number of buckets, 1-${RRL_LIST_MAX}`);
    return send(res, 200, (await h.rrl(limit)) as object);
  }
  if (method === 'GET' && (pathname === '/admin/pops' || pathname === '/admin/pops/'))
    return send(res, 200, h.pops() as object);
  if (method === 'GET' && pathname === '/admin/fleet') {
    if (!h.fleet) throw new AdminError(404, 'no fleet: this instance runs alone (no fleet: section in its config)');
    return send(res, 200, h.fleet() as object);
  }
  const m = /^\/admin\/pops\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (m) {
    if (method !== 'POST')
      return send(res, 405, { error: `${method} not allowed here: POST` }, 'application/json', { allow: 'POST' });
    authorize(req, h.token(), h.readOnlyReason?.());
    const [, pop, action] = m;
    // Own properties only: "constructor" or "__proto__" are not actions.
    if (!Object.hasOwn(OVERRIDES, action))
      throw new AdminError(404, `unknown action "${action}" (drain, undrain, force-up, force-down, clear)`);
    const scope = param(query, 'scope');
    if (scope !== null && scope !== 'fleet' && scope !== 'local')
      throw new AdminError(400, 'scope= takes fleet (every instance) or local (this instance only)');
    let known: boolean;
    try {
      known = await h.setOverride(pop, OVERRIDES[action], scope);
    } catch (err) {
      // The fleet's store cannot be reached: say so, and how to act on this instance alone.
      if (err instanceof FleetError) throw new AdminError(503, `${err.message} (retry, or use ?scope=local)`);
      throw err;
    }
    if (!known) throw new AdminError(404, `unknown PoP "${pop}"`);
    return send(res, 200, scope ? { pop, action, scope } : { pop, action });
  }
  if (pathname === '/admin/reload' && method === 'GET' && h.reloadStatus)
    return send(res, 200, h.reloadStatus() as object);
  if (pathname === '/admin/reload' && method === 'POST') {
    authorize(req, h.token(), h.readOnlyReason?.());
    const accept = param(query, 'accept');
    if (accept !== null) {
      if (!/^[0-9a-f]{12}$/.test(accept))
        throw new AdminError(
          400,
          'accept= takes the id of the held change (12 hex digits; GET /admin/reload shows it)',
        );
      if (!h.accept) throw new AdminError(404, 'this server holds no changes');
      return send(res, 200, h.accept(accept));
    }
    const r = await h.reload();
    return send(res, r.ok ? 200 : r.held ? 409 : 422, r);
  }
  const allow = Object.hasOwn(ROUTES, pathname) ? ROUTES[pathname] : undefined;
  if (allow) return send(res, 405, { error: `${method} not allowed here: ${allow}` }, 'application/json', { allow });
  throw new AdminError(404, `no route for ${method} ${pathname.slice(0, 200)}`);
}

export interface AdminServer {
  address: AddressInfo;
  close(): Promise<void>;
}

/**
 * Listen on host:port. Hardened for a listener that may face hostile clients:
 * a connection cap, header and request timeouts (slow clients get 408), a
 * small header limit (a 100 KB URL gets 431), 400 for malformed input, and
 * handlers that never block the event loop for long (explain and the map are
 * asynchronous and cached by their owner).
 */
export function startAdminServer(host: string, port: number, h: AdminHandlers): Promise<AdminServer> {
  const server = http.createServer(
    {
      maxHeaderSize: ADMIN_LIMITS.maxHeaderBytes,
      connectionsCheckingInterval: ADMIN_LIMITS.checkIntervalMs,
      requestTimeout: ADMIN_LIMITS.requestTimeoutMs,
      headersTimeout: ADMIN_LIMITS.headersTimeoutMs,
    },
    (req, res) => {
      route(h, req, res).catch((err: unknown) => {
        if (err instanceof AdminError) send(res, err.status, { error: err.message });
        else send(res, 500, { error: (err as Error).message });
      });
    },
  );
  server.maxConnections = ADMIN_LIMITS.maxConnections;
  server.keepAliveTimeout = ADMIN_LIMITS.keepAliveTimeoutMs;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', () => undefined); // accept errors (EMFILE...) must not end the process
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
