/**
 * Reloads that cannot hurt, against a real server under a UDP query stream:
 *  - every corrupted database geo-data/broken-fixtures.ts makes is refused
 *    with file, offset and reason (reload failure counted by reason, /readyz
 *    shows it), the old answers keep flowing with 0 lost, and the next good
 *    database is accepted;
 *  - the watchdog: a database whose tree multiplies paths makes the compile
 *    spin; while it runs /readyz and the metrics show it, it is terminated at
 *    reload.timeout, and the good database after it is accepted; a compile
 *    over reload.memory_limit is terminated the same way;
 *  - the change guard: a database moving a third of the sampled networks is
 *    held and reported (from which PoP to which, examples), answers stay, and
 *    `meridian reload --accept` applies it; one moving 1 % goes through.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CORRUPTIONS, ladderDatabase, movedCityDatabase } from '../../../geo-data/broken-fixtures.js';
import { CITY_DB, testConfig } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { Load } from '../../helpers/load.js';
import { ROOT, startServer, tempDir, type TestServer } from '../../helpers/server.js';
import { get, getJson, metric, post, scrape } from './admin-http.js';

const TOKEN = 'reload-safety-token-0123456789';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A server on a private copy of city.mmdb (so tests can replace it), with a write token. */
async function serverWithOwnDatabase(extra = ''): Promise<{ t: TestServer; db: string; admin: number }> {
  const dir = tempDir('meridian-geodb-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = path.join(dir, 'city.mmdb');
  copyFileSync(CITY_DB, db);
  const t = await startServer(
    testConfig({ databases: [db], extra: `${extra}\n` }).replace(
      'admin:\n  listen: 127.0.0.1:0',
      `admin:\n  listen: 127.0.0.1:0\n  token: ${TOKEN}`,
    ),
  );
  cleanups.push(() => t.close());
  return { t, db, admin: t.server.adminPort! };
}

/** Replace a file the way deploy tools do (write a temp file, rename over). */
function replace(file: string, bytes: Buffer): void {
  const tmp = `${file}.tmp-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

const cdn = async (port: number, ecs: string) =>
  addresses(await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs }));
const reloads = async (admin: number) => {
  const m = await scrape(admin);
  return {
    ok: metric(m, 'meridian_config_reloads_total', { result: 'success' })!,
    failed: metric(m, 'meridian_config_reloads_total', { result: 'failure' })!,
  };
};

describe('corrupted geo databases are refused while answers keep flowing', () => {
  it('each corruption: refused with its reason, 0 queries lost, then the good database is accepted', async () => {
    const { t, db, admin } = await serverWithOwnDatabase();
    const load = new Load(t.port, 4, 20, { name: 'cdn.example.net', ecs: '6.0.1.0/24' });
    cleanups.push(() => load.close());
    load.start();
    let failed = 0;
    for (const [name, c] of Object.entries(CORRUPTIONS)) {
      replace(db, c.build());
      failed++;
      await until(async () => (await reloads(admin)).failed === failed, `${name} refused`, 15_000);
      const ready = JSON.parse((await get(admin, '/readyz')).body) as {
        ready: boolean;
        lastReloadError: { message: string; issues: Array<{ path: string; message: string }> };
      };
      expect(ready.ready).toBe(true);
      expect(ready.lastReloadError.issues).toHaveLength(1);
      expect(ready.lastReloadError.issues[0].path).toBe('geo.databases[0]');
      expect(ready.lastReloadError.issues[0].message).toMatch(
        new RegExp(`^${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: at byte \\d+: `),
      );
      // The running database still answers: Sydney for 6.0.1.0/24.
      expect(await cdn(t.port, '6.0.1.0/24')).toEqual(['192.0.2.6']);
    }
    const m = await scrape(admin);
    expect(metric(m, 'meridian_reload_failures_total', { reason: 'geo_database' })).toBe(
      Object.keys(CORRUPTIONS).length,
    );
    // The next good database (6.0.0.0/16 moved to Frankfurt: a small change) is accepted.
    replace(db, movedCityDatabase({ '6.0.0.0/16': 'fra' }));
    await until(async () => (await reloads(admin)).ok === 1, 'good database accepted', 15_000);
    expect(await cdn(t.port, '6.0.1.0/24')).toEqual(['192.0.2.1']);
    expect(JSON.parse((await get(admin, '/readyz')).body).lastReloadError).toBeNull();
    load.stop();
    await until(() => load.answered === load.sent, `all ${load.sent} queries answered`, 5_000).catch(() => undefined);
    expect(load.bad).toEqual([]);
    expect(load.sent).toBeGreaterThan(300);
    expect(load.answered).toBe(load.sent);
  }, 120_000);
});

describe('the reload watchdog', () => {
  it('a compile that never ends (a tree of 2^100 paths) is visible while it runs, terminated at reload.timeout, and the good database after it is accepted', async () => {
    const { t, db, admin } = await serverWithOwnDatabase('reload:\n  timeout: 4s');
    const load = new Load(t.port, 2, 20, { name: 'cdn.example.net', ecs: '6.0.1.0/24' });
    cleanups.push(() => load.close());
    load.start();
    replace(db, ladderDatabase(100));
    // While it spins: in metrics and /readyz (2.5 s in, the worker has long read the file).
    await until(
      async () => (metric(await scrape(admin), 'meridian_reload_running_seconds') ?? 0) > 2.5,
      'reload running for 2.5 s',
      10_000,
    );
    expect(metric(await scrape(admin), 'meridian_reload_in_progress')).toBe(1);
    const running = JSON.parse((await get(admin, '/readyz')).body) as {
      ready: boolean;
      reload: { running: { elapsedSeconds: number } | null; bounds: { timeoutSeconds: number } };
    };
    expect(running.ready).toBe(true);
    expect(running.reload.running).not.toBeNull();
    expect(running.reload.bounds.timeoutSeconds).toBe(4);
    expect(await cdn(t.port, '6.0.1.0/24')).toEqual(['192.0.2.6']);
    // The good database is written while the bad compile still runs: it is compiled next.
    replace(db, movedCityDatabase({ '6.0.0.0/16': 'fra' }));
    await until(async () => (await reloads(admin)).failed === 1, 'the spinning compile terminated', 15_000);
    const m = await scrape(admin);
    expect(metric(m, 'meridian_reload_aborted_total', { bound: 'time' })).toBe(1);
    expect(metric(m, 'meridian_reload_failures_total', { reason: 'time_bound' })).toBe(1);
    await until(
      async () => (await reloads(admin)).ok === 1,
      'the good database accepted after the terminated compile',
      15_000,
    );
    expect(await cdn(t.port, '6.0.1.0/24')).toEqual(['192.0.2.1']);
    expect(metric(await scrape(admin), 'meridian_reload_in_progress')).toBe(0);
    load.stop();
    await until(() => load.answered === load.sent, 'all answered', 5_000).catch(() => undefined);
    expect(load.answered).toBe(load.sent);
  }, 90_000);

  it('a compile over reload.memory_limit is terminated and reported; raising the limit in the same config lets the next one through', async () => {
    const { t, admin } = await serverWithOwnDatabase();
    const tiny = testConfig({ databases: [CITY_DB], extra: 'reload:\n  memory_limit: 1MB\n' });
    t.writeConfig(tiny);
    await until(async () => (await reloads(admin)).failed === 1, 'compile over the memory bound terminated', 15_000);
    const ready = JSON.parse((await get(admin, '/readyz')).body);
    expect(ready.lastReloadError.message).toMatch(
      /compile terminated: .* over the 1 MB bound \(reload\.memory_limit\)/,
    );
    expect(metric(await scrape(admin), 'meridian_reload_aborted_total', { bound: 'memory' })).toBe(1);
    t.writeConfig(testConfig({ databases: [CITY_DB], extra: 'reload:\n  memory_limit: 2GiB\n' }));
    await until(async () => (await reloads(admin)).ok === 1, 'reload with a raised limit', 15_000);
    expect(metric(await scrape(admin), 'meridian_reload_memory_limit_bytes')).toBe(2 * 1024 ** 3);
  }, 60_000);
});

describe('the change guard', () => {
  it('a database moving a third of the networks is held and reported; `meridian reload --accept` applies it; a 1 % move goes through', async () => {
    const { t, db, admin } = await serverWithOwnDatabase();
    expect(await cdn(t.port, '3.1.0.0/24')).toEqual(['192.0.2.3']); // nyc
    replace(
      db,
      movedCityDatabase({ '3.0.0.0/9': 'tyo', '3.128.0.0/9': 'tyo', '2600::/16': 'tyo', '2601::/16': 'tyo' }),
    );
    await until(async () => metric(await scrape(admin), 'meridian_change_guard_held') === 1, 'change held', 15_000);
    // Answers are unchanged while the change is held.
    expect(await cdn(t.port, '3.1.0.0/24')).toEqual(['192.0.2.3']);
    const status = await getJson<{
      held: {
        id: string;
        report: {
          over: boolean;
          records: Array<{
            record: string;
            movedPct: number;
            moves: Array<{ from: string; to: string; networks: number }>;
            examples: Array<{ network: string; from: string; to: string }>;
          }>;
        };
      };
    }>(admin, '/admin/reload');
    const rec = status.held.report.records.find((r) => r.record === 'cdn.example.net')!;
    expect(rec.movedPct).toBeGreaterThan(25);
    expect(rec.movedPct).toBeLessThan(40);
    expect(rec.moves.map((m) => `${m.from}->${m.to}`)).toEqual(expect.arrayContaining(['nyc->tyo', 'sfo->tyo']));
    expect(rec.examples.length).toBeGreaterThan(0);
    expect(rec.examples.every((e) => e.network.startsWith('3.') || e.network.startsWith('260'))).toBe(true);
    const m = await scrape(admin);
    expect(metric(m, 'meridian_change_guard_holds_total')).toBe(1);
    expect(metric(m, 'meridian_change_guard_moved_ratio', { record: 'cdn.example.net' })).toBeCloseTo(
      rec.movedPct / 100,
      4,
    );
    expect(JSON.parse((await get(admin, '/readyz')).body).reload.held.id).toBe(status.held.id);
    // A wrong id is refused; POST /admin/reload reports the hold with 409.
    expect((await post(admin, '/admin/reload?accept=000000000000', TOKEN)).status).toBe(409);

    // The operator accepts with the CLI (it finds the held id through the admin API).
    const cli = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'src', 'cli.ts'),
        'reload',
        '--config',
        t.configFile,
        '--admin',
        `127.0.0.1:${admin}`,
        '--accept',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, MERIDIAN_ADMIN_TOKEN: TOKEN },
      },
    );
    let out = '';
    cli.stdout.on('data', (d) => (out += d));
    cli.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => cli.on('exit', resolve));
    expect(out).toMatch(new RegExp(`accepting held change ${status.held.id}`));
    expect(out).toMatch(/nyc -> tyo/);
    expect(out).toMatch(new RegExp(`change ${status.held.id} applied`));
    expect(code).toBe(0);
    expect(await cdn(t.port, '3.1.0.0/24')).toEqual(['192.0.2.5']); // tyo
    expect(metric(await scrape(admin), 'meridian_change_guard_held')).toBe(0);

    // A 1 % move (Germany's 1.x networks to Sydney) is applied without a hold.
    const before = (await reloads(admin)).ok;
    replace(
      db,
      movedCityDatabase({
        '3.0.0.0/9': 'tyo',
        '3.128.0.0/9': 'tyo',
        '2600::/16': 'tyo',
        '2601::/16': 'tyo',
        '1.0.0.0/16': 'syd',
        '1.1.0.0/16': 'syd',
        '1.2.0.0/15': 'syd',
        '1.4.0.0/14': 'syd',
      }),
    );
    await until(async () => (await reloads(admin)).ok === before + 1, '1 % move applied', 15_000);
    expect(await cdn(t.port, '1.4.1.0/24')).toEqual(['192.0.2.6']);
    const last = await getJson<{ lastChange: { over: boolean; records: Array<{ movedPct: number }> }; held: null }>(
      admin,
      '/admin/reload',
    );
    expect(last.held).toBeNull();
    expect(last.lastChange.over).toBe(false);
    expect(last.lastChange.records[0].movedPct).toBeGreaterThan(0.5);
    expect(last.lastChange.records[0].movedPct).toBeLessThan(2);
  }, 90_000);

  it('with the guard off the same move applies at once', async () => {
    const { t, db, admin } = await serverWithOwnDatabase('reload:\n  change_guard: { enabled: false }');
    replace(db, movedCityDatabase({ '3.0.0.0/9': 'tyo', '3.128.0.0/9': 'tyo' }));
    await until(async () => (await reloads(admin)).ok === 1, 'applied', 15_000);
    expect(await cdn(t.port, '3.1.0.0/24')).toEqual(['192.0.2.5']);
    expect(metric(await scrape(admin), 'meridian_change_guard_holds_total')).toBe(0);
  });
});
