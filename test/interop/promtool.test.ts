/**
 * Prometheus's own tools on what Meridian ships for Prometheus:
 * - /metrics: after varied traffic (UDP, TCP, ECS v4/v6, NXDOMAIN, REFUSED,
 *   FORMERR, BADVERS, truncation, a drained PoP) the scrape is piped to
 *   `promtool check metrics`, which must exit 0 and print nothing (every lint
 *   problem is a line of output);
 * - ops/prometheus/alerts.yml: `promtool check rules`, and `promtool test
 *   rules` on ops/prometheus/alerts.test.yml, where every alert has a case
 *   that fires on a synthetic series and one that stays silent;
 * - ops/grafana/meridian.json: every query is valid PromQL (checked by
 *   promtool as recording rules) and the dashboard is well formed;
 * - every metric name the dashboard and the rules use is exported by the
 *   running Meridian (its scrape), so no panel or alert is silently empty.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';
import { buildQuery, tcpExchange, udpQuery, udpRaw } from '../helpers/dns.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { PROMTOOL, configWithToken, httpGet, httpRequest, metricSum, parseMetrics, requireTool, run } from './tools.js';

const TOKEN = 'promtool-interop-token-0123456789';
let t: TestServer;
let metricsText: string;
/** The scrape of an instance with a fleet: section (its NATS is unreachable: the fleet families are there, connected 0). */
let fleetMetricsText: string;

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
  await udpQuery(port, {
    name: 'cdn.example.net',
    type: 'A',
    options: [{ code: 8, data: Buffer.from([0, 1, 33, 0, 1, 2, 3, 4, 5]) }],
  });
  // A runt packet: dropped.
  await udpRaw(port, Buffer.from([1, 2, 3]), '127.0.0.1', 200);
  // TCP, pipelined.
  await tcpExchange(port, [
    buildQuery({ name: 'big.example.net', type: 'TXT' }),
    buildQuery({ name: 'cdn.example.net', type: 'A', ecs: '1.0.1.0/24' }),
    buildQuery({ name: 'nope.example.net', type: 'AAAA' }),
  ]);
  // Operator action: drain fra (degraded answers, override and serving gauges).
  const drain = await httpRequest(t.server.adminPort!, 'POST', '/admin/pops/fra/drain', {
    authorization: `Bearer ${TOKEN}`,
  });
  expect(drain.status).toBe(200);
  await udpQuery(port, { name: 'cdn.example.net', type: 'A', ecs: '1.0.1.0/24' });
  await udpQuery(port, { name: 'cdn.example.net', type: 'AAAA', ecs: '2a01::/48' });
}

beforeAll(async () => {
  requireTool(PROMTOOL, 'prometheus');
  t = await startServer(configWithToken(TOKEN));
  await traffic();
  metricsText = await httpGet(t.server.adminPort!, '/metrics');
  const fleet = await startServer(`${configWithToken(TOKEN)}\nfleet:\n  servers: ["nats://127.0.0.1:1"]\n`);
  try {
    fleetMetricsText = await httpGet(fleet.server.adminPort!, '/metrics');
  } finally {
    await fleet.close();
  }
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
    for (const rcode of ['NOERROR', 'NXDOMAIN', 'REFUSED', 'FORMERR', 'BADVERS'])
      expect(metricSum(s, 'meridian_queries_total', { rcode }), rcode).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_ecs_queries_total', { family: 'ipv4' })).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_ecs_queries_total', { family: 'ipv6' })).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_truncated_responses_total')).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_malformed_queries_total')).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_degraded_answers_total')).toBeGreaterThan(0);
    expect(metricSum(s, 'meridian_pop_override', { pop: 'fra', override: 'drain' })).toBe(1);
    expect(metricSum(s, 'meridian_pop_serving', { pop: 'fra' })).toBe(0);
    expect(metricSum(s, 'meridian_ecs_scope_prefix_length_count')).toBeGreaterThan(0);
  });

  it('the fleet families (an instance with a fleet: section) pass `promtool check metrics` too', async () => {
    expect(metricSum(parseMetrics(fleetMetricsText), 'meridian_fleet_connected')).toBe(0);
    const r = await run(PROMTOOL, ['check', 'metrics'], { input: fleetMetricsText, timeoutMs: 30_000 });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.code).toBe(0);
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
    const reload = await httpRequest(t.server.adminPort!, 'POST', '/admin/reload', {
      authorization: `Bearer ${TOKEN}`,
    });
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

// ---------------------------------------------------------------------------
// Alert rules and the Grafana dashboard
// ---------------------------------------------------------------------------

const ALERTS = path.join(ROOT, 'ops', 'prometheus', 'alerts.yml');
const ALERT_TESTS = path.join(ROOT, 'ops', 'prometheus', 'alerts.test.yml');
const DASHBOARD = path.join(ROOT, 'ops', 'grafana', 'meridian.json');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Target {
  expr: string;
  refId: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

const rules = (parseYaml(readFileSync(ALERTS, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');

/** Grafana's built-in and dashboard variables as Prometheus would see them after interpolation. */
function interpolate(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$(job|instance)\b/g, '.*');
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression selects (functions, labels, strings, ranges and keywords left out). */
function metricNamesIn(expr: string): string[] {
  const e = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out: string[] = [];
  for (const m of e.matchAll(/(?<![\w$.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = e.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(') || PROMQL_KEYWORDS.has(m[0])) continue;
    out.push(m[0]);
  }
  return out;
}

/** Every series name the scrape exports: each family, and _bucket/_sum/_count for histograms and summaries. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]);
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${suffix}`);
    if (m[2] === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${m[1]}${suffix}`);
  }
  return names;
}

describe('alert rules (ops/prometheus/alerts.yml)', () => {
  it('promtool check rules passes', async () => {
    const r = await run(PROMTOOL, ['check', 'rules', ALERTS]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('the alerts operators need are there, each with a severity, a summary and a description', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'MeridianPopDown',
        'MeridianFailOpen',
        'MeridianConfigReloadFailing',
        'MeridianNotReady',
        'MeridianTargetDown',
        'MeridianServfailRatioHigh',
      ]),
    );
    for (const r of rules) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
  });

  it('promtool test rules: every alert fires on a synthetic series and stays silent on a healthy one', async () => {
    const tests = (
      parseYaml(readFileSync(ALERT_TESTS, 'utf8')) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
      }
    ).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const r of rules) {
      expect(
        cases.some((c) => c.alertname === r.alert && c.exp_alerts.length > 0),
        `${r.alert}: a case where it fires`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alertname === r.alert && c.exp_alerts.length === 0),
        `${r.alert}: a case where it stays silent`,
      ).toBe(true);
    }
    const result = await run(PROMTOOL, ['test', 'rules', ALERT_TESTS], { timeoutMs: 60_000 });
    expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS/);
  });
});

describe('Grafana dashboard (ops/grafana/meridian.json)', () => {
  it('is an importable dashboard: title, uid, schema version, a datasource variable every query uses, unique ids, panels inside the 24-column grid without overlaps', () => {
    expect(dashboard.title).toBe('Meridian GeoDNS');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance']);
    expect(dashboard.templating.list[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of queryPanels) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, compared as text
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refs = p.targets!.map((t) => t.refId);
      expect(new Set(refs).size, p.title).toBe(refs.length);
      for (const t of p.targets!) expect(t.expr, p.title).toMatch(/\{job=~"\$job", instance=~"\$instance"/);
    }
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (const q of dashboard.panels) {
        if (q === p) continue;
        const overlap =
          p.gridPos.x < q.gridPos.x + q.gridPos.w &&
          q.gridPos.x < p.gridPos.x + p.gridPos.w &&
          p.gridPos.y < q.gridPos.y + q.gridPos.h &&
          q.gridPos.y < p.gridPos.y + p.gridPos.h;
        expect(overlap, `${p.title} overlaps ${q.title}`).toBe(false);
      }
    }
  });

  it('covers what operators look at: qps by rcode and transport, answers per PoP, PoP health and overrides, scopes and fragmentation, reloads, fail-open, probe latency', () => {
    const all = queryPanels.flatMap((p) => p.targets!.map((t) => t.expr)).join('\n');
    for (const needle of [
      'sum by (rcode) (rate(meridian_queries_total',
      'sum by (transport) (rate(meridian_queries_total',
      'sum by (pop) (rate(meridian_responses_total',
      'meridian_pop_serving',
      'meridian_pop_up',
      'meridian_pop_override',
      'meridian_ecs_scope_prefix_length_bucket{job=~"$job", instance=~"$instance", family="ipv4"}',
      'meridian_ecs_scope_prefix_length_bucket{job=~"$job", instance=~"$instance", family="ipv6"}',
      'sum by (record) (meridian_scope_prefixes_estimate',
      'meridian_config_last_reload_success',
      'meridian_config_reloads_total',
      'meridian_fail_open_answers_total',
      'meridian_fail_open_decisions',
      'meridian_probe_duration_seconds_bucket',
    ]) {
      expect(all, needle).toContain(needle);
    }
  });

  it('every query is valid PromQL (promtool check rules on them as recording rules, variables interpolated)', async () => {
    const exprs = queryPanels.flatMap((p) => p.targets!.map((t) => interpolate(t.expr)));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-dashboard-'));
    try {
      const file = path.join(dir, 'dashboard-queries.yml');
      const body = exprs
        .map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(e)}`)
        .join('\n');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${body}\n`);
      const r = await run(PROMTOOL, ['check', 'rules', file]);
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('every metric the dashboard and the alerts use is exported by a running Meridian', () => {
  it('the metric-name extractor finds selectors, not functions, labels or keywords', () => {
    expect(
      metricNamesIn(
        'sum by (pop, le) (rate(meridian_probe_duration_seconds_bucket{job=~"$job", pop!="x"}[5m])) / on (pop) group_left meridian_pop_up and bool up > 0',
      ),
    ).toEqual(['meridian_probe_duration_seconds_bucket', 'meridian_pop_up', 'up']);
    expect(metricNamesIn('time() - meridian_geo_database_build_timestamp_seconds > 45 * 86400 or vector(0)')).toEqual([
      'meridian_geo_database_build_timestamp_seconds',
    ]);
  });

  it("names in panels, template variables and alert rules are all in the scrape (up is Prometheus's own)", () => {
    const exported = new Set([...exportedNames(metricsText), ...exportedNames(fleetMetricsText)]);
    const used = new Map<string, string>();
    for (const p of queryPanels)
      for (const t of p.targets!) for (const n of metricNamesIn(interpolate(t.expr))) used.set(n, `panel "${p.title}"`);
    for (const v of dashboard.templating.list) {
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      const m = q && /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q);
      if (m) used.set(m[1], `variable $${v.name}`);
    }
    for (const r of rules) for (const n of metricNamesIn(r.expr)) used.set(n, `alert ${r.alert}`);
    expect(used.size).toBeGreaterThan(20);
    const missing = [...used]
      .filter(([name]) => name !== 'up' && !exported.has(name))
      .map(([name, where]) => `${name} (${where})`);
    expect(missing).toEqual([]);
    // And the other way round: the dashboard shows the families an operator must see.
    for (const name of [
      'meridian_build_info',
      'meridian_ready',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect(used.has(name), name).toBe(true);
  });
});
