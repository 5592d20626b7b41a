/**
 * `meridian explain` through the real CLI (node --import tsx src/cli.ts) on
 * fixture configs: the stable JSON object, agreement with what the running
 * server answers over UDP for the same client subnet, the text output, and
 * errors for bad clients.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PLACES } from '../../../geo-data/fixture-networks.js';
import { DBIP_V4, DBIP_V6, TEST_POPS, testConfig } from '../../helpers/configs.js';
import { addresses, udpQuery } from '../../helpers/dns.js';
import { ROOT, startServer, tempDir, type TestServer } from '../../helpers/server.js';
import { referenceKm, referenceNearest } from '../../unit/policy/support.js';
import { popAddress, withEcs } from './support.js';

const POLICY = `  nearest:
    candidates: 3
    steps:
      - nearest: {}
    fallback: [gru]`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (((err as { code?: number | string }).code as number | null) ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

interface ExplainJson {
  name: string;
  type: string;
  client: string;
  rcode: string;
  answers: string[];
  ttl: number | null;
  scope: number;
  record: string | null;
  pop: string | null;
  policy?: string;
  location?: {
    country: string | null;
    continent: string | null;
    subdivision: string | null;
    city: string | null;
    lat: number | null;
    lon: number | null;
  };
  step?: { index: number; kind: string; matched: string };
  candidates?: Array<{ pop: string; distanceKm: number | null; rttMs: number | null; rttSource: string }>;
  decision?: string[];
  consistent?: boolean;
}

const dir = tempDir('meridian-explain-');
const cityConfig = path.join(dir, 'city.yaml');
const dbipConfig = path.join(dir, 'dbip.yaml');
writeFileSync(cityConfig, testConfig({ policies: POLICY }));
writeFileSync(dbipConfig, testConfig({ policies: POLICY, databases: [DBIP_V4, DBIP_V6] }));

async function explainJson(
  config: string,
  name: string,
  type: string,
  client: string,
): Promise<{ run: Run; json: ExplainJson }> {
  const run = await cli(['explain', '--config', config, '--name', name, '--type', type, '--client', client, '--json']);
  if (run.code !== 0) throw new Error(`explain exited ${run.code}: ${run.stderr}`);
  return { run, json: JSON.parse(run.stdout) as ExplainJson };
}

const byAddress = new Map(Object.entries(TEST_POPS).flatMap(([id, p]) => [[p.v4, id] as const, [p.v6, id] as const]));

let server: TestServer;
let dbipServer: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig({ policies: POLICY }));
  dbipServer = await startServer(testConfig({ policies: POLICY, databases: [DBIP_V4, DBIP_V6] }));
});
afterAll(async () => {
  await server.close();
  await dbipServer.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('meridian explain --json', () => {
  it('a stable JSON object: answers, pop, ttl, scope, candidates with distances, location, consistent', async () => {
    const [a, b] = await Promise.all([
      explainJson(cityConfig, 'cdn.example.net', 'A', '6.0.1.0/24'),
      explainJson(cityConfig, 'cdn.example.net', 'A', '6.0.1.0/24'),
    ]);
    // Stable: the same output byte for byte.
    expect(a.run.stdout).toBe(b.run.stdout);
    const j = a.json;
    const syd = FIXTURE_PLACES.syd;
    expect(j).toMatchObject({
      name: 'cdn.example.net',
      type: 'A',
      client: '6.0.1.0/24',
      rcode: 'NOERROR',
      answers: [TEST_POPS.syd.v4],
      ttl: 30,
      scope: 16,
      record: 'cdn.example.net',
      pop: 'syd',
      policy: 'nearest',
      location: {
        country: 'AU',
        continent: 'OC',
        subdivision: 'NSW',
        city: 'Sydney',
        lat: syd.latitude,
        lon: syd.longitude,
      },
      step: { index: 0, kind: 'nearest' },
      decision: ['syd', 'tyo', 'jnb'],
      consistent: true,
    });
    // Every PoP as a candidate, nearest first, with its great-circle distance in whole km.
    expect(j.candidates!.map((c) => c.pop)).toEqual(referenceNearest(syd.latitude, syd.longitude, 8));
    for (const c of j.candidates!) {
      const p = TEST_POPS[c.pop];
      expect(Math.abs(c.distanceKm! - referenceKm(syd.latitude, syd.longitude, p.lat, p.lon))).toBeLessThanOrEqual(0.5);
      expect(c.rttSource).toBe('modelled');
    }
    // The key order is part of the format.
    expect(Object.keys(j).slice(0, 11)).toEqual([
      'name',
      'type',
      'client',
      'rcode',
      'answers',
      'ttl',
      'scope',
      'record',
      'pop',
      'policy',
      'location',
    ]);
  });

  it.concurrent.for<[string, string, string, string]>([
    ['city', 'cdn.example.net', 'A', '6.0.1.0/24'],
    ['city', 'cdn.example.net', 'AAAA', '6.0.1.0/24'],
    ['city', 'cdn.example.net', 'A', '1.1.0.0/16'],
    ['city', 'cdn.example.net', 'A', '2.10.0.0/24'],
    ['city', 'cdn.example.net', 'AAAA', '2401:2::/48'],
    ['city', 'cdn.example.net', 'A', '2a02::/16'],
    ['city', 'cdn.example.net', 'A', '11.0.0.0/24'],
    ['city', 'cdn.example.net', 'A', '12.0.0.0/24'],
    ['city', 'cdn.example.net', 'A', '4.0.0.0/8'],
    ['city', 'cdn.example.net', 'A', '::ffff:6.0.0.0/120'],
    ['city', 'example.net', 'A', '7.0.0.0/24'],
    ['city', 'www.example.net', 'A', '7.0.0.0/24'],
    ['dbip', 'cdn.example.net', 'A', '3.200.0.0/24'],
    ['dbip', 'cdn.example.net', 'AAAA', '2c0f::/32'],
    ['dbip', 'cdn.example.net', 'A', '5.1.2.3/32'],
  ])("%s: %s %s for %s equals the server's UDP answer and scope", async ([layout, name, type, client], { expect }) => {
    const { json } = await explainJson(layout === 'city' ? cityConfig : dbipConfig, name, type, client);
    const r = await udpQuery((layout === 'city' ? server : dbipServer).port, withEcs(name, type, client));
    expect(json.answers).toEqual(addresses(r));
    expect(json.scope).toBe(r.ecs!.scope);
    expect(json.rcode).toBe('NOERROR');
    if (name === 'www.example.net') {
      expect(json.record).toBeNull();
      expect(json.scope).toBe(0);
    } else {
      expect(json.consistent).toBe(true);
      expect(byAddress.get(json.answers[0])).toBe(json.pop);
      expect(json.decision![0]).toBe(json.pop);
    }
  });

  it.concurrent.for<[string, string, string]>([
    // The server answers ::ffff:a.b.c.d/n as the IPv4 client; with DB-IP (no IPv4 in the IPv6 file) explain must too.
    ['dbip', 'A', '::ffff:6.0.0.0/120'],
    // SOURCE PREFIX-LENGTH 0: the server answers from the packet source (explain sends from 127.0.0.1, Berlin -> fra).
    ['city', 'A', '0.0.0.0/0'],
  ])(
    '%s: explain of %s for %s describes the PoP it answers (pop, decision and answers agree)',
    async ([layout, type, client], { expect }) => {
      const { json } = await explainJson(layout === 'city' ? cityConfig : dbipConfig, 'cdn.example.net', type, client);
      const r = await udpQuery(
        (layout === 'city' ? server : dbipServer).port,
        withEcs('cdn.example.net', type, client),
      );
      expect(json.answers).toEqual(addresses(r));
      const answered = byAddress.get(json.answers[0]);
      expect(
        { pop: json.pop, decisionFirst: json.decision?.[0], location: json.location?.country ?? null },
        `explain answers ${json.answers} (${answered}) but says pop ${json.pop}, decision ${json.decision}, located ${JSON.stringify(json.location)}, step ${json.step?.kind}`,
      ).toMatchObject({ pop: answered, decisionFirst: answered });
    },
  );
});

describe('meridian explain (text)', () => {
  it('mentions the deciding step, the location, the candidates with km and the answer', async () => {
    const run = await cli(['explain', '--config', cityConfig, '--name', 'cdn.example.net', '--client', '6.0.1.0/24']);
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain(
      `cdn.example.net A for client 6.0.1.0/24: NOERROR ${popAddress('syd', 'A')} ttl 30 scope /16`,
    );
    expect(out).toMatch(/located: AU-NSW Sydney \(-33\.869, 151\.209\)/);
    expect(out).toContain('network 6.0.0.0/16');
    expect(out).toMatch(/decided by: nearest \(step 0\)/);
    for (const pop of ['syd', 'tyo', 'jnb']) expect(out).toMatch(new RegExp(`^\\s+${pop}\\s+\\d+ km`, 'm'));
    expect(out).toContain('decision: syd > tyo > jnb');
    expect(out).toContain('answer: syd');
    expect(out).not.toContain('WARNING');
  });

  it('an unlocatable client is decided by the fallback; a static name says so', async () => {
    const [fallback, stat] = await Promise.all([
      cli(['explain', '--config', cityConfig, '--name', 'cdn.example.net', '--client', '12.0.0.0/24']),
      cli(['explain', '--config', cityConfig, '--name', 'www.example.net', '--client', '12.0.0.0/24']),
    ]);
    expect(fallback.code).toBe(0);
    expect(fallback.stdout).toMatch(/decided by: fallback/);
    expect(fallback.stdout).toContain('answer: gru');
    expect(stat.code).toBe(0);
    expect(stat.stdout).toContain('static answer');
    expect(stat.stdout).toContain('scope /0');
  });
});

describe('meridian explain: errors', () => {
  it.concurrent.for(['not-an-ip', '6.0.0.1/24', '6.0.0.0/33', '2001:db8::/129', ''])(
    'bad client %j -> non-zero exit and a message',
    async (client, { expect }) => {
      const run = await cli([
        'explain',
        '--config',
        cityConfig,
        '--name',
        'cdn.example.net',
        '--client',
        client,
        '--json',
      ]);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/meridian/);
    },
  );

  it('missing --client is a usage error (exit 2)', async () => {
    const run = await cli(['explain', '--config', cityConfig, '--name', 'cdn.example.net']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--client/);
  });

  it('a broken config is reported (exit 1)', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, testConfig({ policies: `  nearest:\n    steps:\n      - nearest: { pops: [atlantis] }` }));
    const run = await cli(['explain', '--config', bad, '--name', 'cdn.example.net', '--client', '6.0.0.0/24']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/unknown PoP "atlantis"/);
  });
});
