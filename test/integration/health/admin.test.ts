/**
 * Operator overrides through the admin HTTP API (bearer token) and the
 * watched admin state file: drain / undrain / force-down / force-up / clear,
 * their effect on DNS answers, /metrics, /explain and /admin/pops, and the
 * precedence of API overrides over the state file.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PopHealth } from '../../../src/health/monitor.js';
import { popsYaml, TEST_POPS, testConfig } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { startServer, writeAtomically, type TestServer } from '../../helpers/server.js';
import { get, getJson, metric, post, request, scrape } from '../ops/admin-http.js';
import { closedPort } from './targets.js';

const TOKEN = '0123456789abcdef-test';
const FRA = '192.0.2.1';
const LON = '192.0.2.2';
const SYD = '192.0.2.6';
const TYO = '192.0.2.5';
const FRA_CLIENT = '1.0.0.0/24';
const SYD_CLIENT = '6.0.1.0/24';

/** testConfig with its admin block replaced (token and state file as asked). */
function adminConfig(o: { token?: string | null; stateFile?: boolean; health?: Record<string, string> } = {}): string {
  const base = testConfig({ pops: popsYaml(TEST_POPS, o.health ?? {}) });
  const block = [
    'admin:',
    '  listen: 127.0.0.1:0',
    o.token ? `  token: "${o.token}"` : null,
    o.stateFile ? '  state_file: state' : null,
  ]
    .filter((l) => l !== null)
    .join('\n');
  const out = base.replace('admin:\n  listen: 127.0.0.1:0', block);
  if (out === base && (o.token || o.stateFile)) throw new Error('testConfig admin block not found');
  return out;
}

/** syd probed on a closed TCP port, starting down: it only serves when forced up. */
async function sydDown(): Promise<Record<string, string>> {
  return {
    syd: `health: { type: tcp, target: 127.0.0.1, port: ${await closedPort()}, interval: 1s, timeout: 200ms, initial: down }`,
  };
}

async function answer(port: number, client: string): Promise<{ addr: string; ttl: number | undefined }> {
  const r = await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs: client });
  return { addr: addresses(r)[0], ttl: (r.packet.answers?.[0] as { ttl?: number } | undefined)?.ttl };
}

const answersWith = (port: number, client: string, addr: string, what: string) =>
  until(async () => (await answer(port, client)).addr === addr, what, 5_000, 20);

async function popStatus(admin: number, id: string): Promise<PopHealth> {
  const list = await getJson<PopHealth[]>(admin, '/admin/pops');
  const p = list.find((x) => x.id === id);
  if (!p) throw new Error(`no PoP ${id} in /admin/pops`);
  return p;
}

describe('admin API with a token', () => {
  let t: TestServer;
  let admin: number;
  beforeAll(async () => {
    t = await startServer(adminConfig({ token: TOKEN, health: await sydDown() }));
    admin = t.server.adminPort!;
  });
  afterAll(() => t.close());
  afterEach(async () => {
    for (const id of Object.keys(TEST_POPS)) await post(admin, `/admin/pops/${id}/clear`, TOKEN);
  });

  it('GET /admin/pops needs no token and lists every PoP', async () => {
    const r = await get(admin, '/admin/pops');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/json/);
    const list = JSON.parse(r.body) as PopHealth[];
    expect(list.map((p) => p.id).sort()).toEqual(Object.keys(TEST_POPS).sort());
    expect(list.find((p) => p.id === 'fra')).toMatchObject({
      checked: false,
      up: true,
      serving: true,
      override: null,
      overrideSource: null,
    });
    expect(list.find((p) => p.id === 'syd')).toMatchObject({ checked: true, up: false, serving: false });
  });

  it('write calls without a token, with a wrong token or another scheme are refused with 401 and change nothing', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${TOKEN}` },
      { authorization: TOKEN },
      { authorization: 'Bearer ' },
    ];
    for (const headers of attempts) {
      const r = await request(admin, 'POST', '/admin/pops/fra/drain', headers);
      expect(r.status, JSON.stringify(headers)).toBe(401);
      expect(JSON.parse(r.body).error).toMatch(/token/);
    }
    expect(await popStatus(admin, 'fra')).toMatchObject({ serving: true, override: null });
    expect((await answer(t.port, FRA_CLIENT)).addr).toBe(FRA);
  });

  it('unknown PoP or action: 404', async () => {
    const r1 = await post(admin, '/admin/pops/ams/drain', TOKEN);
    expect(r1.status).toBe(404);
    expect(JSON.parse(r1.body).error).toContain('ams');
    const r2 = await post(admin, '/admin/pops/fra/explode', TOKEN);
    expect(r2.status).toBe(404);
    expect((await get(admin, '/admin/nothing')).status).toBe(404);
  });

  it('drain takes fra out of answers (degraded TTL), metrics and explain say so; undrain brings it back', async () => {
    expect(await answer(t.port, FRA_CLIENT)).toEqual({ addr: FRA, ttl: 30 });
    const r = await post(admin, '/admin/pops/fra/drain', TOKEN);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ pop: 'fra', action: 'drain' });
    await answersWith(t.port, FRA_CLIENT, LON, 'lon while fra is drained');
    expect(await answer(t.port, FRA_CLIENT)).toEqual({ addr: LON, ttl: 10 });

    const m = await scrape(admin);
    expect(metric(m, 'meridian_pop_serving', { pop: 'fra' })).toBe(0);
    expect(metric(m, 'meridian_pop_up', { pop: 'fra' })).toBe(1);
    expect(metric(m, 'meridian_pop_override', { pop: 'fra', override: 'drain' })).toBe(1);
    expect(metric(m, 'meridian_pop_serving', { pop: 'lon' })).toBe(1);
    expect(await popStatus(admin, 'fra')).toMatchObject({
      up: true,
      serving: false,
      override: 'drain',
      overrideSource: 'api',
    });

    const ex = await getJson<{
      answers: string[];
      pop: string;
      degraded: boolean;
      failOpen: boolean;
      candidates: Array<{ pop: string; serving: boolean }>;
      decision: string[];
      health: PopHealth[];
    }>(admin, `/explain?name=cdn.example.net&type=A&client=${encodeURIComponent(FRA_CLIENT)}`);
    expect(ex.answers).toEqual([LON]);
    expect(ex.pop).toBe('lon');
    expect(ex.degraded).toBe(true);
    expect(ex.failOpen).toBe(false);
    expect(ex.decision[0]).toBe('fra');
    expect(ex.candidates.find((c) => c.pop === 'fra')).toMatchObject({ serving: false });
    expect(ex.candidates.find((c) => c.pop === 'lon')).toMatchObject({ serving: true });
    expect(ex.health.find((h) => h.id === 'fra')).toMatchObject({ serving: false, override: 'drain' });

    expect((await post(admin, '/admin/pops/fra/undrain', TOKEN)).status).toBe(200);
    await answersWith(t.port, FRA_CLIENT, FRA, 'fra after undrain');
    expect(await answer(t.port, FRA_CLIENT)).toEqual({ addr: FRA, ttl: 30 });
    const m2 = await scrape(admin);
    expect(metric(m2, 'meridian_pop_serving', { pop: 'fra' })).toBe(1);
    expect(metric(m2, 'meridian_pop_override', { pop: 'fra' })).toBeUndefined();
    const ex2 = await getJson<{ pop: string; degraded: boolean; candidates: Array<{ pop: string; serving: boolean }> }>(
      admin,
      `/explain?name=cdn.example.net&type=A&client=${encodeURIComponent(FRA_CLIENT)}`,
    );
    expect(ex2).toMatchObject({ pop: 'fra', degraded: false });
    expect(ex2.candidates.find((c) => c.pop === 'fra')?.serving).toBe(true);
  });

  it('force-down takes a healthy PoP out; clear restores it', async () => {
    expect((await post(admin, '/admin/pops/fra/force-down', TOKEN)).status).toBe(200);
    await answersWith(t.port, FRA_CLIENT, LON, 'lon while fra is forced down');
    expect(await popStatus(admin, 'fra')).toMatchObject({ up: true, serving: false, override: 'force-down' });
    expect(metric(await scrape(admin), 'meridian_pop_override', { pop: 'fra', override: 'force-down' })).toBe(1);
    expect((await post(admin, '/admin/pops/fra/clear', TOKEN)).status).toBe(200);
    await answersWith(t.port, FRA_CLIENT, FRA, 'fra after clear');
  });

  it('force-up serves a PoP whose probes fail; clear hands it back to the probes', async () => {
    expect((await answer(t.port, SYD_CLIENT)).addr).toBe(TYO);
    expect((await post(admin, '/admin/pops/syd/force-up', TOKEN)).status).toBe(200);
    await answersWith(t.port, SYD_CLIENT, SYD, 'syd while forced up');
    expect(await answer(t.port, SYD_CLIENT)).toEqual({ addr: SYD, ttl: 30 });
    expect(await popStatus(admin, 'syd')).toMatchObject({ up: false, serving: true, override: 'force-up' });
    const m = await scrape(admin);
    expect(metric(m, 'meridian_pop_up', { pop: 'syd' })).toBe(0);
    expect(metric(m, 'meridian_pop_serving', { pop: 'syd' })).toBe(1);
    expect((await post(admin, '/admin/pops/syd/clear', TOKEN)).status).toBe(200);
    await answersWith(t.port, SYD_CLIENT, TYO, 'tyo after clear');
  });
});

describe('admin API without a token: read-only', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(adminConfig({ token: null }));
  });
  afterAll(() => t.close());

  it('write calls are refused with 403 whatever the header; reads work', async () => {
    const admin = t.server.adminPort!;
    for (const token of [null, TOKEN, 'anything-at-all-16+']) {
      const r = await post(admin, '/admin/pops/fra/drain', token);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body).error).toMatch(/read-only/);
    }
    expect((await post(admin, '/admin/reload', TOKEN)).status).toBe(403);
    expect((await get(admin, '/admin/pops')).status).toBe(200);
    expect((await get(admin, '/metrics')).status).toBe(200);
    expect(await popStatus(admin, 'fra')).toMatchObject({ serving: true, override: null });
  });
});

describe('admin state file', () => {
  let t: TestServer;
  let admin: number;
  let stateFile: string;
  beforeAll(async () => {
    t = await startServer(adminConfig({ token: TOKEN, stateFile: true, health: await sydDown() }));
    admin = t.server.adminPort!;
    stateFile = path.join(t.dir, 'state');
  });
  afterAll(() => t.close());
  afterEach(async () => {
    for (const id of Object.keys(TEST_POPS)) await post(admin, `/admin/pops/${id}/clear`, TOKEN);
    writeAtomically(stateFile, '');
    await until(
      async () => (await getJson<PopHealth[]>(admin, '/admin/pops')).every((p) => p.override === null),
      'overrides cleared',
    );
  });

  it('"fra DRAIN" drains fra; removing the line undrains it', async () => {
    writeAtomically(stateFile, '# maintenance\nfra DRAIN\n');
    await answersWith(t.port, FRA_CLIENT, LON, 'fra drained by the state file');
    expect(await popStatus(admin, 'fra')).toMatchObject({ serving: false, override: 'drain', overrideSource: 'file' });
    expect(metric(await scrape(admin), 'meridian_pop_serving', { pop: 'fra' })).toBe(0);
    writeAtomically(stateFile, '# maintenance over\n');
    await answersWith(t.port, FRA_CLIENT, FRA, 'fra back after the line is removed');
    expect(await popStatus(admin, 'fra')).toMatchObject({ serving: true, override: null, overrideSource: null });
  });

  it('"fra DOWN" forces fra down; "syd UP" forces a failing PoP up', async () => {
    writeAtomically(stateFile, 'fra DOWN\nsyd UP\n');
    await answersWith(t.port, FRA_CLIENT, LON, 'fra forced down by the file');
    await answersWith(t.port, SYD_CLIENT, SYD, 'syd forced up by the file');
    expect(await popStatus(admin, 'fra')).toMatchObject({ override: 'force-down', overrideSource: 'file' });
    expect(await popStatus(admin, 'syd')).toMatchObject({
      up: false,
      serving: true,
      override: 'force-up',
      overrideSource: 'file',
    });
    writeAtomically(stateFile, 'fra up\n');
    await answersWith(t.port, SYD_CLIENT, TYO, 'syd back to its probe verdict');
    await answersWith(t.port, FRA_CLIENT, FRA, 'fra forced up');
    expect(await popStatus(admin, 'fra')).toMatchObject({ override: 'force-up', overrideSource: 'file' });
  });

  it('a deleted state file means no overrides', async () => {
    writeAtomically(stateFile, 'fra DRAIN\n');
    await answersWith(t.port, FRA_CLIENT, LON, 'drained');
    rmSync(stateFile);
    await answersWith(t.port, FRA_CLIENT, FRA, 'undrained after the file is deleted');
  });

  it('bad lines are skipped; the good ones still apply', async () => {
    writeAtomically(stateFile, 'this is not valid\nfra DRAIN\nlon SOMETIMES\n');
    await answersWith(t.port, FRA_CLIENT, LON, 'fra drained despite bad lines');
    expect(await popStatus(admin, 'lon')).toMatchObject({ override: null, serving: true });
  });

  it('an API override wins over the file; clearing it lets the file apply again', async () => {
    writeAtomically(stateFile, 'fra DRAIN\n');
    await answersWith(t.port, FRA_CLIENT, LON, 'drained by the file');
    expect((await post(admin, '/admin/pops/fra/force-up', TOKEN)).status).toBe(200);
    await answersWith(t.port, FRA_CLIENT, FRA, 'API force-up beats the file drain');
    expect(await popStatus(admin, 'fra')).toMatchObject({ serving: true, override: 'force-up', overrideSource: 'api' });
    // Rewriting the file does not displace the API override. nyc is a marker that shows the rewrite was applied.
    writeAtomically(stateFile, 'fra DOWN\nnyc DRAIN\n');
    await until(async () => (await popStatus(admin, 'nyc')).override === 'drain', 'rewritten state file applied');
    expect(await popStatus(admin, 'fra')).toMatchObject({ serving: true, override: 'force-up', overrideSource: 'api' });
    expect((await answer(t.port, FRA_CLIENT)).addr).toBe(FRA);
    expect((await post(admin, '/admin/pops/fra/clear', TOKEN)).status).toBe(200);
    await answersWith(t.port, FRA_CLIENT, LON, 'the file (DOWN) applies again after the API clear');
    expect(await popStatus(admin, 'fra')).toMatchObject({ override: 'force-down', overrideSource: 'file' });
  });
});
