/**
 * Prometheus's own linter on Meridian's /metrics: after varied traffic (UDP,
 * TCP, ECS v4/v6, NXDOMAIN, REFUSED, FORMERR, BADVERS, truncation, a drained
 * PoP) the scrape is piped to `promtool check metrics`,
 * which must exit 0 and print nothing (every lint problem is a line of output).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, tcpExchange, udpQuery, udpRaw } from '../helpers/dns.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { PROMTOOL, configWithToken, httpGet, httpRequest, metricSum, parseMetrics, requireTool, run } from './tools.js';

const TOKEN = 'promtool-interop-token-0123456789';
let t: TestServer;
let metricsText: string;

async function traffic(): Promise<void> {
  const port = t.port;
  // UDP: answers, negative answers, refusals, ECS in both families, NSID, truncation.
  await udpQuery(port, { name: 'www.example.net', type: 'A' });
  await udpQuery(port, { name: 'www.example.net', type: 'AAAA', udpSize: 1232 });
  await udpQuery(port, { name: 'nope.example.net', type: 'A' });
  await udpQuery(port, { name: 'www.example.net', type: 'MX' });
  await udpQuery(port, { name: 'www.example.com', type: 'A' });
  await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs: '6.0.1.0/24' });
  await udpQuery(port, { name: 'cdn.example.net', type: 'AAAA', ecs: '2401::/48', nsid: true });
  await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs: '0.0.0.0/0' });
  await udpQuery(port, { name: 'big.example.net', type: 'TXT', udpSize: 512 });
  await udpQuery(port, { name: 'www.example.net', type: 'A', ednsVersion: 1 });
  await udpQuery(port, { name: 'sub.example.net', type: 'NS' });
  await udpQuery(port, { name: 'example.net', type: 'CAA' });
  await udpQuery(port, { name: 'id.server', type: 'TXT', qclass: 'CH' });
  // A bad ECS option (source 33 for IPv4): FORMERR.
  await udpQuery(port, { name: 'cdn.example.net', type: 'A', options: [{ code: 8, data: Buffer.from([0, 1, 33, 0, 1, 2, 3, 4, 5]) }] });
  // A runt packet: dropped.
  await udpRaw(port, Buffer.from([1, 2, 3]), '127.0.0.1', 200);
  // TCP, pipelined.
  await tcpExchange(port, [buildQuery({ name: 'big.example.net', type: 'TXT' }), buildQuery({ name: 'cdn.example.net', type: 'A', ecs: '1.0.1.0/24' }), buildQuery({ name: 'nope.example.net', type: 'AAAA' })]);
  // Operator action: drain fra (degraded answers, override and serving gauges).
  const drain = await httpRequest(t.server.adminPort!, 'POST', '/admin/pops/fra/drain', { authorization: `Bearer ${TOKEN}` });
  expect(drain.status).toBe(200);
  await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs: '1.0.1.0/24' });
  await udpQuery(port, { name: 'cdn.example.net', type: 'AAAA', ecs: '2a01::/48' });
}

beforeAll(async () => {
  requireTool(PROMTOOL, 'prometheus');
  t = await startServer(configWithToken(TOKEN));
  await traffic();
  metricsText = await httpGet(t.server.adminPort!, '/metrics');
});

afterAll(async () => {
  await t?.close();
});

describe('promtool check metrics', () => {
  it('promtool is there and runs', async () => {
    const r = await run(PROMTOOL, ['--version']);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/promtool, version \d+\.\d+/);
  });

  it('the scrape reflects the traffic (so the linter sees every metric family populated)', () => {
    const s = parseMetrics(metricsText);
    expect(metricSum(s, 'meridian_queries_total', { transport: 'udp' })).toBeGreaterThan(10);
    expect(metricSum(s, 'meridian_queries_total', { transport: 'tcp' })).toBe(3);
    for (const rcode of ['NOERROR', 'NXDOMAIN', 'REFUSED', 'FORMERR', 'BADVERS']) expect(metricSum(s, 'meridian_queries_total', { rcode }), rcode).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_ecs_queries_total', { family: 'ipv4' })).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_ecs_queries_total', { family: 'ipv6' })).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_truncated_responses_total')).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_malformed_queries_total')).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_degraded_answers_total')).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_pop_override', { pop: 'fra', override: 'drain' })).toBe(1);
    expect(metricSum(s, 'meridian_pop_serving', { pop: 'fra' })).toBe(0);
    expect(metricSum(s, 'meridian_ecs_scope_prefix_length_count')).toBeGreaterThan(0);
  });

  it('the whole /metrics output passes `promtool check metrics` with no lint problems', async () => {
    const r = await run(PROMTOOL, ['check', 'metrics'], { input: metricsText, timeoutMs: 30_000 });
    const problems = `${r.stdout}${r.stderr}`.trim();
    expect(problems, `promtool check metrics (exit ${r.code}) reported:\n${problems}`).toBe('');
    expect(r.code, `promtool check metrics exit code; output:\n${problems}`).toBe(0);
  });

  it("Meridian's own families (meridian_* without the standard process_*/nodejs_* families) pass on their own too", async () => {
    // Keeps Meridian-defined metrics honest even while the default process
    // metrics (prom-client collectDefaultMetrics) have problems of their own.
    const own = metricsText
      .split('\n')
      .filter((line) => !/^(# (HELP|TYPE) )?(process|nodejs)_/.test(line))
      .join('\n');
    expect(own).toMatch(/meridian_queries_total/);
    const r = await run(PROMTOOL, ['check', 'metrics'], { input: own, timeoutMs: 30_000 });
    const problems = `${r.stdout}${r.stderr}`.trim();
    expect(problems, `promtool check metrics (exit ${r.code}) reported:\n${problems}`).toBe('');
    expect(r.code).toBe(0);
  });

  it('after an admin reload (reload counters and config gauges change) the scrape still passes', async () => {
    const reload = await httpRequest(t.server.adminPort!, 'POST', '/admin/reload', { authorization: `Bearer ${TOKEN}` });
    expect(reload.status, `POST /admin/reload: ${reload.body}`).toBe(200);
    const text = await httpGet(t.server.adminPort!, '/metrics');
    expect(metricSum(parseMetrics(text), 'meridian_config_reloads_total', { result: 'success' })).toBe(1);
    const own = text
      .split('\n')
      .filter((line) => !/^(# (HELP|TYPE) )?(process|nodejs)_/.test(line))
      .join('\n');
    const r = await run(PROMTOOL, ['check', 'metrics'], { input: own, timeoutMs: 30_000 });
    const problems = `${r.stdout}${r.stderr}`.trim();
    expect(problems, `promtool check metrics (exit ${r.code}) reported:\n${problems}`).toBe('');
    expect(r.code).toBe(0);
  });
});
