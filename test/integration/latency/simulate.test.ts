/**
 * `meridian simulate`.
 *
 * On the shipped example (config/examples/latency.yaml, the full DB-IP
 * database, config/examples/clients-sample.csv), through the real CLI
 * (node --import tsx src/cli.ts): the JSON report's shape (shares summing to
 * 1, mean/p95 RTT, distinct scopes, 13 client results), and for every client
 * its PoP and scope equal what explain answers for the same subnet (explain
 * in-process on the same config, which runs the real query path); --compare
 * with config/meridian.yaml (both configs named, "traffic that changes PoP")
 * and --map (an SVG with one marker per PoP). Each spawn compiles the whole
 * DB-IP database, so there are only two, run side by side.
 *
 * On the fixture city database (fast): a small config and clients file whose
 * shares and RTTs are worked out by hand, the same report in-process and from
 * the CLI, scopes equal to what a running server answers over UDP, and a bad
 * clients file (exit 1, file:line).
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PLACES } from '../../../geo-data/fixture-networks.js';
import { explainContextFromFile } from '../../../src/inspect/explain-context.js';
import { explain } from '../../../src/inspect/explain.js';
import { parseClients } from '../../../src/geo/clients.js';
import { formatReport, simulate, type SimReport } from '../../../src/inspect/simulate.js';
import { CITY_DB, popsYaml, TEST_POPS } from '../../helpers/configs.js';
import { addresses, udpQuery } from '../../helpers/dns.js';
import { ROOT, startServer, tempDir, type TestServer } from '../../helpers/server.js';
import { cidr, formatCidr, prefixOf, referenceKm } from '../../unit/policy/support.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string }) | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
      },
    );
  });
}

const dir = tempDir('meridian-simulate-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------
// The shipped example on DB-IP
// ---------------------------------------------------------------------------

const EXAMPLE = path.join(ROOT, 'config', 'examples', 'latency.yaml');
const CLIENTS = path.join(ROOT, 'config', 'examples', 'clients-sample.csv');
const DEFAULT = path.join(ROOT, 'config', 'meridian.yaml');
const EXAMPLE_POPS = ['fra', 'lon', 'iad', 'sjc', 'dfw', 'gru', 'jnb', 'bom', 'sin', 'nrt', 'syd'];

describe('meridian simulate on the example config (DB-IP)', () => {
  const svg = path.join(dir, 'catchments.svg');
  let json: Run;
  let compare: Run;
  let report: SimReport;

  beforeAll(async () => {
    // Both spawns at once; each compiles the full database (compare: two configs).
    [json, compare] = await Promise.all([
      cli(['simulate', '--config', EXAMPLE, '--clients', CLIENTS, '--json']),
      cli(['simulate', '--config', EXAMPLE, '--clients', CLIENTS, '--compare', DEFAULT, '--map', svg]),
    ]);
    expect(json.code, json.stderr).toBe(0);
    report = JSON.parse(json.stdout) as SimReport;
  }, 600_000);

  it('--json: shares per PoP summing to 1, mean and p95 RTT, distinct scopes, 13 client results', () => {
    expect(report.config).toBe(EXAMPLE);
    expect(report.clients).toBe(13);
    expect(report.results).toHaveLength(13);
    expect(report.totalWeight).toBe(120 + 40 + 300 + 500 + 220 + 180 + 90 + 40 + 110 + 150 + 60 + 130 + 200);
    expect(report.pops.map((p) => p.pop)).toEqual(EXAMPLE_POPS);
    expect(report.pops.reduce((n, p) => n + p.share, 0)).toBeCloseTo(1, 9);
    expect(report.pops.reduce((n, p) => n + p.clients, 0)).toBe(13);
    // Every PoP has both families: nobody is left without an answer.
    expect(report.noAnswer).toEqual({ share: 0, clients: 0, weight: 0, byType: { A: 0, AAAA: 0 } });
    for (const p of report.pops) {
      expect(p.share).toBeGreaterThanOrEqual(0);
      expect(p.weight / report.totalWeight).toBeCloseTo(p.share, 12);
      expect(p.serving).toBe(true);
      if (p.clients > 0) {
        expect(typeof p.meanRttMs).toBe('number');
        expect(typeof p.p95RttMs).toBe('number');
      }
    }
    expect(typeof report.meanRttMs).toBe('number');
    expect(typeof report.p95RttMs).toBe('number');
    // The mean is the weighted mean of the clients' RTTs; the p95 is one of them.
    const located = report.results.filter((r) => r.rttMs !== null);
    const w = located.reduce((n, r) => n + r.weight, 0);
    expect(report.meanRttMs).toBe(Math.round((located.reduce((n, r) => n + r.rttMs! * r.weight, 0) / w) * 10) / 10);
    expect(located.map((r) => r.rttMs)).toContain(report.p95RttMs);
    expect(Number.isInteger(report.distinctScopes)).toBe(true);
    expect(report.distinctScopes).toBeGreaterThanOrEqual(1);
    expect(report.distinctScopes).toBeLessThanOrEqual(13);
    const networks = readFileSync(CLIENTS, 'utf8')
      .split('\n')
      .filter((l) => /^[0-9a-f]/i.test(l))
      .map((l) => l.split(',')[0]);
    expect(report.results.map((r) => r.network)).toEqual(networks);
    for (const r of report.results) {
      expect(EXAMPLE_POPS, r.network).toContain(r.pop);
      expect(r.scope, r.network).toBeGreaterThan(0);
      expect(typeof r.rttMs, r.network).toBe('number');
    }
  });

  it("every client's PoP and scope equal what explain answers for the same subnet (same report in-process)", () => {
    const ctx = explainContextFromFile(EXAMPLE);
    const clients = parseClients(readFileSync(CLIENTS, 'utf8'), CLIENTS);
    const mine = simulate(ctx, clients);
    expect(JSON.parse(JSON.stringify(mine))).toEqual(report);
    for (const r of report.results) {
      const type = r.network.includes(':') ? 'AAAA' : 'A';
      const e = explain(ctx, report.record, type, r.network);
      expect(e.rcode, r.network).toBe('NOERROR');
      expect(e.pop, r.network).toBe(r.pop);
      expect(e.scope, r.network).toBe(r.scope);
      expect(e.consistent, r.network).toBe(true);
    }
  }, 300_000);

  it('--compare names both configs and how much traffic changes PoP; --map writes one marker per PoP', () => {
    expect(compare.code, compare.stderr).toBe(0);
    const out = compare.stdout;
    expect(out).toContain('clients: 13 networks');
    expect(out).toMatch(new RegExp(`^A: ${EXAMPLE.replace(/[.]/g, '\\.')} \\(`, 'm'));
    expect(out).toMatch(new RegExp(`^B: ${DEFAULT.replace(/[.]/g, '\\.')} \\(`, 'm'));
    expect(out).toMatch(/^traffic that changes PoP: \d+\.\d%$/m);
    expect(out).toMatch(/^all +100\.0% +100\.0% +mean rtt \d+\.\d ms -> \d+\.\d ms, p95 \d+\.\d ms -> \d+\.\d ms$/m);
    expect(out).not.toMatch(/no answer/);
    expect(out).toMatch(/^distinct scopes: \d+ -> \d+$/m);
    expect(out).toContain(`map: ${svg}`);
    const map = readFileSync(svg, 'utf8');
    expect(map.startsWith('<svg')).toBe(true);
    expect(map.trimEnd().endsWith('</svg>')).toBe(true);
    const markers = [...map.matchAll(/data-pop-marker="([^"]+)"/g)].map((m) => m[1]);
    expect(markers).toEqual(EXAMPLE_POPS);
    // One dot per located client, coloured by its PoP.
    expect([...map.matchAll(/<circle [^>]*data-pop="/g)].length).toBe(
      report.results.filter((r) => r.lat !== null && r.lon !== null).length,
    );
  });
});

// ---------------------------------------------------------------------------
// The fixture database, worked out by hand
// ---------------------------------------------------------------------------

const SUBSET = { fra: TEST_POPS.fra, nyc: TEST_POPS.nyc, tyo: TEST_POPS.tyo };

/** The zones section: example.net with the geo record cdn on `policy`. */
function cdnZone(policy: string): string {
  return `zones:
  - origin: example.net.
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [198.51.100.53] }
    geo:
      cdn: { policy: ${policy} }
`;
}

function fixtureConfig(): string {
  return `
server:
  identity: "simulate-test"
admin:
  listen: 127.0.0.1:0
geo:
  databases: [${JSON.stringify(CITY_DB)}]
  latency_table: latency.csv
  path_inflation: 1.5
pops:
${popsYaml(SUBSET)}
policies:
  lat:
    candidates: 2
    steps:
      - latency: { tolerance_ms: 1, tolerance_pct: 1 }
    fallback: [fra, nyc]
${cdnZone('lat')}`;
}

/** New York measured at 7 ms (the model says 0: it sits on the PoP). */
const FIXTURE_TABLE = 'client,pop,rtt_ms\n3.0.0.0/24,nyc,7\n';
const FIXTURE_CLIENTS = `network,weight
# Frankfurt, Munich (both fra), New York (nyc, measured), Tokyo as a bare address (tyo)
1.0.0.0/24,20
1.1.0.0/24,20
3.0.0.0/24,40
5.0.0.1,20
# an IPv6 Frankfurt network with no weight
2a01:5::/48,0
`;

describe('meridian simulate on the fixture database', () => {
  const config = path.join(dir, 'fixture.yaml');
  const clientsFile = path.join(dir, 'clients.csv');
  writeFileSync(config, fixtureConfig());
  writeFileSync(path.join(dir, 'latency.csv'), FIXTURE_TABLE);
  writeFileSync(clientsFile, FIXTURE_CLIENTS);
  let server: TestServer;
  let report: SimReport;
  beforeAll(async () => {
    server = await startServer(fixtureConfig(), { files: { 'latency.csv': FIXTURE_TABLE } });
    report = simulate(explainContextFromFile(config), parseClients(FIXTURE_CLIENTS, clientsFile));
  });
  afterAll(() => server.close());

  const round1 = (x: number) => Math.round(x * 10) / 10;
  const muc = FIXTURE_PLACES.muc;
  /** Munich to Frankfurt, modelled: 2 x ~305 km / 200 x 1.5 = ~4.6 ms. */
  const munichMs = round1(
    ((2 * referenceKm(muc.latitude, muc.longitude, TEST_POPS.fra.lat, TEST_POPS.fra.lon)) / 200) * 1.5,
  );

  it('shares, clients and RTTs per PoP', () => {
    expect(munichMs).toBeCloseTo(4.6, 5);
    expect(report.clients).toBe(5);
    expect(report.totalWeight).toBe(100);
    expect(report.record).toBe('cdn.example.net');
    expect(report.results.map((r) => [r.network, r.pop, r.rttMs, r.rttSource])).toEqual([
      ['1.0.0.0/24', 'fra', 0, 'modelled'],
      ['1.1.0.0/24', 'fra', munichMs, 'modelled'],
      ['3.0.0.0/24', 'nyc', 7, 'measured-cidr'],
      ['5.0.0.1/32', 'tyo', 0, 'modelled'],
      ['2a01:5::/48', 'fra', 0, 'modelled'],
    ]);
    expect(report.pops).toEqual([
      {
        pop: 'fra',
        share: 0.4,
        clients: 3,
        weight: 40,
        meanRttMs: round1((20 * 0 + 20 * munichMs) / 40),
        p95RttMs: munichMs,
        serving: true,
      },
      { pop: 'nyc', share: 0.4, clients: 1, weight: 40, meanRttMs: 7, p95RttMs: 7, serving: true },
      { pop: 'tyo', share: 0.2, clients: 1, weight: 20, meanRttMs: 0, p95RttMs: 0, serving: true },
    ]);
    // Mean over the weights: (20 x 0 + 20 x 4.6 + 40 x 7 + 20 x 0) / 100; p95: the 95th of 100 weight units is New York.
    expect(report.meanRttMs).toBe(round1((20 * munichMs + 40 * 7) / 100));
    expect(report.p95RttMs).toBe(7);
    const lat = FIXTURE_PLACES.tyo;
    expect(report.results[3]).toMatchObject({ lat: lat.latitude, lon: lat.longitude });
  });

  it('scopes are what the running server answers over UDP for the same subnets', async () => {
    const scopes = new Set<string>();
    for (const r of report.results) {
      const type = r.network.includes(':') ? 'AAAA' : 'A';
      const reply = await udpQuery(server.port, { name: 'cdn.example.net', type, ecs: r.network });
      const want = type === 'A' ? TEST_POPS[r.pop!].v4 : TEST_POPS[r.pop!].v6;
      expect(addresses(reply), r.network).toEqual([want]);
      expect(reply.ecs?.scope, r.network).toBe(r.scope);
      const c = cidr(r.network);
      scopes.add(formatCidr(prefixOf(c.base, r.scope, c.family)));
    }
    // Distinct scopes: the cache entries a resolver would hold for these clients.
    expect(report.distinctScopes).toBe(scopes.size);
    expect(report.meanScope).toBe(round1(report.results.reduce((n, r) => n + r.scope, 0) / 5));
  });

  it('the CLI prints the same report (--json) and a text summary', async () => {
    const [j, text] = await Promise.all([
      cli(['simulate', '--config', config, '--clients', clientsFile, '--json'], 60_000),
      cli(['simulate', '--config', config, '--clients', clientsFile], 60_000),
    ]);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual(JSON.parse(JSON.stringify(report)));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('clients: 5 networks, total weight 100');
    expect(text.stdout).toMatch(/^fra +40\.0% +3 +2\.3 ms +4\.6 ms$/m);
    expect(text.stdout).toMatch(/^nyc +40\.0% +1 +7\.0 ms +7\.0 ms$/m);
    expect(text.stdout).toMatch(/^tyo +20\.0% +1 +0\.0 ms +0\.0 ms$/m);
    expect(text.stdout).toMatch(/^all +100\.0% +5 +3\.7 ms +7\.0 ms$/m);
  }, 120_000);

  it('a bad clients file: exit 1 with file:line', async () => {
    const bad = path.join(dir, 'bad-clients.csv');
    writeFileSync(bad, 'network,weight\n1.0.0.0/24,5\n# fine so far\nnot-a-network,3\n');
    const run = await cli(['simulate', '--config', config, '--clients', bad], 60_000);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`meridian simulate: ${bad}:4: 'not-a-network/32' is not an IPv4 or IPv6 prefix\n`);
    // The other errors, in-process.
    expect(() => parseClients('network,weight\n1.0.0.0/24,-2\n', 'c.csv')).toThrow(
      /^c\.csv:2: weight "-2" is not a non-negative number$/,
    );
    expect(() => parseClients('1.0.0.0/24,1\n10.0.0.1/8\n', 'c.csv')).toThrow(
      /^c\.csv:2: '10\.0\.0\.1\/8' has host bits set past \/8$/,
    );
    expect(() => parseClients('network,weight\n# none\n', 'c.csv')).toThrow(/^c\.csv: no client networks$/);
  }, 90_000);
});

// ---------------------------------------------------------------------------
// Clients the record cannot answer
// ---------------------------------------------------------------------------

/** fra, nyc and tyo; only the PoPs in `v6` get an IPv6 address. */
function partialV6Config(v6: string[], candidates: number): string {
  const pops = Object.entries(SUBSET)
    .map(
      ([id, p]) =>
        `  ${id}: { location: [${p.lat}, ${p.lon}], ipv4: [${p.v4}]${v6.includes(id) ? `, ipv6: ["${p.v6}"]` : ''} }`,
    )
    .join('\n');
  return `
admin:
  listen: 127.0.0.1:0
geo:
  databases: [${JSON.stringify(CITY_DB)}]
pops:
${pops}
policies:
  near:
    candidates: ${candidates}
    steps:
      - nearest: {}
    fallback: [fra]
${cdnZone('near')}`;
}

/** Frankfurt and New York, each as an IPv4 /24 and an IPv6 /48. */
const DUAL_CLIENTS = `network,weight
1.0.0.0/24,20
3.0.0.0/24,40
2a01:5::/48,25
2600:5::/48,15
`;

describe('meridian simulate: clients the record cannot answer get a "no answer" row', () => {
  const noV6 = path.join(dir, 'no-v6.yaml');
  const partial = path.join(dir, 'partial-v6.yaml');
  const clientsFile = path.join(dir, 'dual-clients.csv');
  writeFileSync(noV6, partialV6Config([], 2));
  writeFileSync(partial, partialV6Config(['fra'], 1));
  writeFileSync(clientsFile, DUAL_CLIENTS);
  const clients = parseClients(DUAL_CLIENTS, clientsFile);

  it('no PoP has IPv6: every IPv6 client is "no answer", and the shares (and the total row) add up to 100 %', async () => {
    const r = simulate(explainContextFromFile(noV6), clients);
    expect(r.results.map((x) => [x.network, x.type, x.pop, x.rttMs])).toEqual([
      ['1.0.0.0/24', 'A', 'fra', 0],
      ['3.0.0.0/24', 'A', 'nyc', 0],
      ['2a01:5::/48', 'AAAA', null, null],
      ['2600:5::/48', 'AAAA', null, null],
    ]);
    expect(r.pops.map((p) => [p.pop, p.share, p.clients])).toEqual([
      ['fra', 0.2, 1],
      ['nyc', 0.4, 1],
      ['tyo', 0, 0],
    ]);
    expect(r.noAnswer).toEqual({ share: 0.4, clients: 2, weight: 40, byType: { A: 0, AAAA: 2 } });
    expect(r.pops.reduce((n, p) => n + p.share, 0) + r.noAnswer.share).toBeCloseTo(1, 12);
    // RTTs are of the answered clients only (both sit on their PoP).
    expect(r.meanRttMs).toBe(0);
    const run = await cli(['simulate', '--config', noV6, '--clients', clientsFile], 60_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^fra +20\.0% +1 +0\.0 ms +0\.0 ms$/m);
    expect(run.stdout).toMatch(/^nyc +40\.0% +1 +0\.0 ms +0\.0 ms$/m);
    expect(run.stdout).toMatch(/^no answer +40\.0% +2 +- +-$/m);
    expect(run.stdout).toMatch(/^all +100\.0% +4 +0\.0 ms +0\.0 ms$/m);
    expect(run.stdout).toContain(
      'no answer: 2 IPv6 client networks whose candidate PoPs have no IPv6 address (AAAA gets NODATA; dual-stack clients use the A answer); RTTs are of the answered clients',
    );
  }, 90_000);

  it('only fra has IPv6 (one candidate): the New York IPv6 client is "no answer", as the server answers it', async () => {
    const ctx = explainContextFromFile(partial);
    const r = simulate(ctx, clients);
    expect(r.results.map((x) => [x.network, x.pop])).toEqual([
      ['1.0.0.0/24', 'fra'],
      ['3.0.0.0/24', 'nyc'],
      ['2a01:5::/48', 'fra'],
      ['2600:5::/48', null],
    ]);
    expect(r.noAnswer).toEqual({ share: 0.15, clients: 1, weight: 15, byType: { A: 0, AAAA: 1 } });
    expect(r.pops.find((p) => p.pop === 'fra')!.share).toBeCloseTo(0.45, 12);
    expect(r.pops.reduce((n, p) => n + p.share, 0) + r.noAnswer.share).toBeCloseTo(1, 12);
    expect(formatReport(r)).toMatch(/^no answer +15\.0% +1 +- +-$/m);
    // --compare shows the row for both configs.
    expect(formatReport(r, simulate(explainContextFromFile(noV6), clients))).toMatch(
      /^no answer +15\.0% +40\.0% +- +-$/m,
    );

    // The running server agrees: AAAA for the New York /48 is NODATA (NOERROR, no address), A is nyc.
    const server = await startServer(partialV6Config(['fra'], 1));
    try {
      const aaaa = await udpQuery(server.port, { name: 'cdn.example.net', type: 'AAAA', ecs: '2600:5::/48' });
      expect(aaaa.rcode).toBe(0);
      expect(addresses(aaaa)).toEqual([]);
      expect(
        addresses(await udpQuery(server.port, { name: 'cdn.example.net', type: 'AAAA', ecs: '2a01:5::/48' })),
      ).toEqual([TEST_POPS.fra.v6]);
      expect(
        addresses(await udpQuery(server.port, { name: 'cdn.example.net', type: 'A', ecs: '2600:5::/48' })),
      ).toEqual([TEST_POPS.nyc.v4]);
    } finally {
      await server.close();
    }
  });
});
