/**
 * The admin listener against hostile requests, while DNS keeps answering a
 * UDP stream with 0 lost: prototype names as actions and PoPs, malformed
 * percent-escapes, bad explain input, 100 KB URLs, wrong tokens of any
 * length, wrong methods, and 3,000 slow connections (slowloris). Each row
 * gets the status it must get; nothing gets 500 and nothing is stored.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_LIMITS } from '../../../src/plane/admin-http.js';
import { testConfig } from '../../helpers/configs.js';
import { until } from '../../helpers/dns.js';
import { Load } from '../../helpers/load.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { get, getJson, request } from './admin-http.js';

const TOKEN = 'hostile-test-token-0123456789';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function server(): Promise<TestServer> {
  const t = await startServer(
    testConfig().replace('admin:\n  listen: 127.0.0.1:0', `admin:\n  listen: 127.0.0.1:0\n  token: ${TOKEN}`),
  );
  cleanups.push(() => t.close());
  return t;
}

const auth = { authorization: `Bearer ${TOKEN}` };
const long = 'a'.repeat(100 * 1024);

/** [what, method, path, headers, expected status] */
const TABLE: Array<[string, string, string, Record<string, string>, number]> = [
  ['action "constructor" (Object.prototype)', 'POST', '/admin/pops/fra/constructor', auth, 404],
  ['action "__proto__"', 'POST', '/admin/pops/fra/__proto__', auth, 404],
  ['action "toString"', 'POST', '/admin/pops/fra/toString', auth, 404],
  ['action "hasOwnProperty"', 'POST', '/admin/pops/fra/hasOwnProperty', auth, 404],
  ['PoP "constructor"', 'POST', '/admin/pops/constructor/drain', auth, 404],
  ['PoP "__proto__"', 'POST', '/admin/pops/__proto__/drain', auth, 404],
  ['PoP "toString"', 'POST', '/admin/pops/toString/drain', auth, 404],
  ['bad percent-escape in the PoP', 'POST', '/admin/pops/%E0%A4%A/drain', auth, 400],
  ['bad percent-escape %ZZ in the path', 'GET', '/readyz%ZZ', {}, 400],
  ['bad percent-escape in explain client', 'GET', '/explain?name=cdn.example.net&client=%E0%A4%A', {}, 400],
  ['bad percent-escape in a parameter name', 'GET', '/explain?%ZZ=1&name=cdn.example.net&client=6.0.1.0/24', {}, 400],
  ['client that is not an address', 'GET', '/explain?name=cdn.example.net&client=not-an-ip', {}, 400],
  ['client with host bits', 'GET', '/explain?name=cdn.example.net&client=6.0.0.1/24', {}, 400],
  ['client prefix too long', 'GET', '/explain?name=cdn.example.net&client=6.0.0.0/33', {}, 400],
  ['client given twice', 'GET', '/explain?name=cdn.example.net&client=6.0.1.0/24&client=1.1.1.0/24', {}, 400],
  ['type MX', 'GET', '/explain?name=cdn.example.net&client=6.0.1.0/24&type=MX', {}, 400],
  ['a 300-character name', 'GET', `/explain?name=${'a'.repeat(300)}&client=6.0.1.0/24`, {}, 400],
  ['a 64-character label', 'GET', `/explain?name=${'a'.repeat(64)}.example.net&client=6.0.1.0/24`, {}, 400],
  ['missing client', 'GET', '/explain?name=cdn.example.net', {}, 400],
  ['map of a name that is not a geo record', 'GET', '/map?name=www.example.net', {}, 400],
  ['100 KB path', 'GET', `/${long}`, {}, 431],
  ['100 KB explain query', 'GET', `/explain?name=cdn.example.net&client=${long}`, {}, 431],
  ['100 KB header', 'GET', '/healthz', { 'x-junk': long }, 431],
  ['accept= that is not an id', 'POST', '/admin/reload?accept=../../etc/passwd', auth, 400],
  ['accept= with nothing held', 'POST', '/admin/reload?accept=0123456789ab', auth, 409],
  ['no token', 'POST', '/admin/pops/fra/drain', {}, 401],
  [
    'a wrong token of the same length',
    'POST',
    '/admin/pops/fra/drain',
    { authorization: `Bearer ${'x'.repeat(TOKEN.length)}` },
    401,
  ],
  ['a wrong token of another length', 'POST', '/admin/pops/fra/drain', { authorization: 'Bearer x' }, 401],
  ['a 4 KB token', 'POST', '/admin/pops/fra/drain', { authorization: `Bearer ${'x'.repeat(4000)}` }, 401],
  ['DELETE /admin/pops', 'DELETE', '/admin/pops', auth, 405],
  ['POST /metrics', 'POST', '/metrics', {}, 405],
  ['GET on an action', 'GET', '/admin/pops/fra/drain', {}, 405],
  ['an unknown path', 'GET', '/etc/passwd', {}, 404],
  ['a good explain still works', 'GET', '/explain?name=cdn.example.net&client=6.0.1.0/24', {}, 200],
  ['a good drain still works', 'POST', '/admin/pops/fra/drain', auth, 200],
];

/** Open `n` connections that send half a request line and then nothing (slowloris). */
async function slowClients(port: number, n: number): Promise<{ sockets: net.Socket[]; outcomes: Promise<string[]> }> {
  const sockets: net.Socket[] = [];
  const outcomes: Array<Promise<string>> = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    let data = '';
    outcomes.push(
      new Promise((resolve) => {
        s.on('connect', () => s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'));
        s.on('data', (d) => (data += d));
        s.on('error', () => undefined);
        s.on('close', () => resolve(data ? data.split('\r\n')[0] : 'closed without a response'));
      }),
    );
    sockets.push(s);
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  return { sockets, outcomes: Promise.all(outcomes) };
}

describe('admin API under hostile requests', () => {
  it('each hostile request gets its status, nothing is stored, and DNS answers every query meanwhile', async () => {
    const t = await server();
    const admin = t.server.adminPort!;
    const load = new Load(t.port, 2, 10, { name: 'cdn.example.net', ecs: '6.0.1.0/24' });
    cleanups.push(() => load.close());
    load.start();
    const got: string[] = [];
    for (const [what, method, path, headers] of TABLE) {
      const r = await request(admin, method, path, headers);
      got.push(`${what}: ${r.status}`);
      if (r.status !== 431 && r.status !== 200 && method !== 'HEAD')
        expect(JSON.parse(r.body).error, what).toBeTypeOf('string');
    }
    expect(got).toEqual(TABLE.map(([what, , , , status]) => `${what}: ${status}`));
    // Nothing a prototype name reached was stored as an override.
    const pops = await getJson<Array<{ id: string; override: string | null }>>(admin, '/admin/pops');
    expect(pops.filter((p) => p.override !== null).map((p) => `${p.id}:${p.override}`)).toEqual(['fra:drain']);
    load.stop();
    await until(() => load.answered === load.sent, 'every DNS query answered', 5_000).catch(() => undefined);
    expect(load.answered).toBe(load.sent);
  }, 60_000);

  it('3,000 slow connections: the cap closes the excess at once, the held ones get 408 at the header timeout, DNS keeps answering, then the admin API answers again', async () => {
    const t = await server();
    const admin = t.server.adminPort!;
    const load = new Load(t.port, 2, 10, { name: 'cdn.example.net', ecs: '6.0.1.0/24' });
    cleanups.push(() => load.close());
    load.start();
    const t0 = Date.now();
    const { sockets, outcomes } = await slowClients(admin, 3000);
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    const results = await outcomes;
    const elapsed = Date.now() - t0;
    const counts = results.reduce<Record<string, number>>((m, r) => ((m[r] = (m[r] ?? 0) + 1), m), {});
    // At most the cap were held, each answered 408 once its headers took too long; the rest were closed on accept.
    expect(counts['HTTP/1.1 408 Request Timeout'] ?? 0).toBeGreaterThan(0);
    expect(counts['HTTP/1.1 408 Request Timeout']).toBeLessThanOrEqual(ADMIN_LIMITS.maxConnections);
    expect((counts['HTTP/1.1 408 Request Timeout'] ?? 0) + (counts['closed without a response'] ?? 0)).toBe(3000);
    expect(elapsed).toBeGreaterThanOrEqual(ADMIN_LIMITS.headersTimeoutMs - 500);
    // The listener is usable again.
    expect((await get(admin, '/healthz')).status).toBe(200);
    load.stop();
    await until(() => load.answered === load.sent, 'every DNS query answered', 5_000).catch(() => undefined);
    expect(load.sent).toBeGreaterThan(500);
    expect(load.answered).toBe(load.sent);
  }, 60_000);
});
