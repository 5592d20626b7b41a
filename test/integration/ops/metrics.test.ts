/**
 * /metrics after known traffic: exact counter values (queries by transport,
 * qtype and rcode; ECS by family; truncation; malformed; answers per record
 * and PoP; TCP connections; the scope histogram), no client address or qname
 * in any label; /healthz and /readyz, including after a failed reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CITY_DB, testConfig } from '../../helpers/configs.js';
import {
  buildQuery,
  decodeReply,
  ecsData,
  tcpExchange,
  udpQuery,
  udpRaw,
  until,
  type QueryOptions,
} from '../../helpers/dns.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { get, metric, samples, scrape, type Sample } from './admin-http.js';

const Q_ECS_V4 = '1.0.0.0/24'; // Frankfurt
const Q_ECS_V6 = '2a01:0:1::/48'; // Frankfurt

describe('metrics after known traffic', () => {
  let t: TestServer;
  let m: Sample[];
  let text: string;
  const scopes: { v4: number[]; v6: number[] } = { v4: [], v6: [] };

  beforeAll(async () => {
    t = await startServer(testConfig());
    const udp = async (o: QueryOptions, n = 1) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await udpQuery(t.port, o));
      return out;
    };
    // NOERROR
    await udp({ name: 'www.example.net', type: 'A' }, 3);
    await udp({ name: 'www.example.net', type: 'AAAA' }, 2);
    await udp({ name: 'example.net', type: 'MX' });
    await udp({ name: 'example.net', type: 'A' }); // apex geo record, no ECS: tailored to 127.0.0.1 (Berlin -> fra)
    // NXDOMAIN, REFUSED
    for (const r of await udp({ name: 'nonexistent.example.net', type: 'A' }, 2)) expect(r.rcode).toBe(3);
    for (const r of await udp({ name: 'www.example.com', type: 'A' }, 2)) expect(r.rcode).toBe(5);
    // FORMERR: ECS with a non-zero SCOPE PREFIX-LENGTH in a query (RFC 7871 6).
    const [formerr] = await udp({
      name: 'www.example.net',
      type: 'A',
      options: [{ code: 8, data: ecsData(Q_ECS_V4, 24) }],
    });
    expect(formerr.rcode).toBe(1);
    // NOTIMP (opcode 2) and BADVERS (EDNS version 1).
    expect((await udp({ name: 'www.example.net', type: 'A', flags: 2 << 11 }))[0].rcode).toBe(4);
    expect((await udp({ name: 'www.example.net', type: 'A', ednsVersion: 1 }))[0].rcode).toBe(16);
    // TC: 12 x 200-byte TXT strings do not fit 512 bytes without EDNS.
    const [tc] = await udp({ name: 'big.example.net', type: 'TXT' });
    expect(tc.flags.tc).toBe(true);
    // ECS v4 and v6 on the geo record; ECS on a static name (counted as ECS, not in the scope histogram).
    for (const r of await udp({ name: 'cdn.example.net', type: 'A', ecs: Q_ECS_V4 }, 3)) scopes.v4.push(r.ecs!.scope);
    for (const r of await udp({ name: 'cdn.example.net', type: 'AAAA', ecs: Q_ECS_V6 }, 2))
      scopes.v6.push(r.ecs!.scope);
    expect((await udp({ name: 'www.example.net', type: 'A', ecs: Q_ECS_V4 }))[0].ecs?.scope).toBe(0);
    // Dropped: a response (QR=1) and a runt.
    const response = buildQuery({ name: 'www.example.net' });
    response[2] |= 0x80; // QR=1 (dns-packet masks it out of `flags`)
    expect(await udpRaw(t.port, response, '127.0.0.1', 300)).toBeNull();
    expect(await udpRaw(t.port, Buffer.from([1, 2, 3, 4, 5]), '127.0.0.1', 300)).toBeNull();
    // TCP: two connections, three queries.
    const two = await tcpExchange(t.port, [
      buildQuery({ name: 'www.example.net', type: 'A' }),
      buildQuery({ name: 'big.example.net', type: 'TXT' }),
    ]);
    expect(two.map((r) => decodeReply(r).flags.tc)).toEqual([false, false]);
    const [geo] = await tcpExchange(t.port, [buildQuery({ name: 'cdn.example.net', type: 'A' })]);
    expect(decodeReply(geo).rcode).toBe(0);

    // The TCP connections are closed by the client; let the server see it.
    await until(() => t.server.tcpStats.open === 0, 'TCP connections closed');
    const r = await get(t.server.adminPort!, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    text = r.body;
    m = await scrape(t.server.adminPort!);
  });
  afterAll(() => t.close());

  it('meridian_queries_total by transport, qtype and rcode: exactly the traffic sent', () => {
    const got = Object.fromEntries(
      samples(m, 'meridian_queries_total')
        .filter((s) => s.value > 0)
        .map((s) => [`${s.labels.transport} ${s.labels.qtype} ${s.labels.rcode}`, s.value]),
    );
    expect(got).toEqual({
      'udp A NOERROR': 8, // www x3, apex, cdn ECS x3, www ECS
      'udp AAAA NOERROR': 4, // www x2, cdn ECS x2
      'udp MX NOERROR': 1,
      'udp TXT NOERROR': 1, // the truncated one
      'udp A NXDOMAIN': 2,
      'udp A REFUSED': 2,
      'udp A FORMERR': 1,
      'udp A NOTIMP': 1,
      'udp A BADVERS': 1,
      'tcp A NOERROR': 2,
      'tcp TXT NOERROR': 1,
    });
  });

  it('ECS by family, truncated, malformed, dropped', () => {
    expect(metric(m, 'meridian_ecs_queries_total', { family: 'ipv4' })).toBe(4);
    expect(metric(m, 'meridian_ecs_queries_total', { family: 'ipv6' })).toBe(2);
    // Every well-formed query without ECS (the FORMERR/NOTIMP/BADVERS ones never reach the ECS count).
    expect(metric(m, 'meridian_ecs_queries_total', { family: 'none' })).toBe(15);
    expect(metric(m, 'meridian_truncated_responses_total')).toBe(1);
    expect(metric(m, 'meridian_malformed_queries_total')).toBe(1);
    expect(metric(m, 'meridian_dropped_packets_total', { reason: 'malformed' })).toBe(2);
    expect(metric(m, 'meridian_dropped_packets_total', { reason: 'error' })).toBe(0);
    expect(metric(m, 'meridian_internal_errors_total')).toBe(0);
    expect(metric(m, 'meridian_fail_open_answers_total')).toBe(0);
    expect(metric(m, 'meridian_degraded_answers_total')).toBe(0);
  });

  it('geo answers by record and PoP', () => {
    const got = Object.fromEntries(
      samples(m, 'meridian_responses_total').map((s) => [`${s.labels.record} ${s.labels.pop}`, s.value]),
    );
    expect(got).toEqual({ 'cdn.example.net fra': 6, 'example.net fra': 1 });
  });

  it('TCP connections accepted and open', () => {
    expect(metric(m, 'meridian_tcp_connections_total', { result: 'accepted' })).toBe(2);
    expect(metric(m, 'meridian_tcp_connections_total', { result: 'rejected' })).toBe(0);
    expect(metric(m, 'meridian_tcp_connections_open')).toBe(0);
  });

  it('the ECS scope histogram counts the answers to ECS queries for geo records, per family, with the scopes sent', () => {
    for (const [family, sent] of [
      ['ipv4', scopes.v4],
      ['ipv6', scopes.v6],
    ] as const) {
      expect(metric(m, 'meridian_ecs_scope_prefix_length_count', { family }), family).toBe(sent.length);
      expect(metric(m, 'meridian_ecs_scope_prefix_length_sum', { family }), family).toBe(
        sent.reduce((a, b) => a + b, 0),
      );
      // Buckets are cumulative, end at the count, and the first one at or above each scope holds it.
      const buckets = samples(m, 'meridian_ecs_scope_prefix_length_bucket', { family });
      expect(buckets.find((b) => b.labels.le === '+Inf')?.value, family).toBe(sent.length);
      const le = buckets
        .map((b) => ({ le: Number(b.labels.le), v: b.value }))
        .filter((b) => Number.isFinite(b.le))
        .sort((a, b) => a.le - b.le);
      for (let i = 1; i < le.length; i++) expect(le[i].v).toBeGreaterThanOrEqual(le[i - 1].v);
      for (const scope of sent) {
        expect(scope).toBeGreaterThan(0);
        expect(le.find((b) => b.le >= scope)!.v).toBeGreaterThanOrEqual(sent.filter((x) => x <= scope).length);
      }
    }
    // IPv4 and IPv6 do not share buckets: IPv4 stops at /32, IPv6 goes to /128 with /48 its own bucket.
    const bounds = (family: string) =>
      samples(m, 'meridian_ecs_scope_prefix_length_bucket', { family }).map((b) => b.labels.le);
    expect(bounds('ipv4')).toEqual(['0', '8', '10', '12', '14', '16', '18', '20', '22', '24', '32', '+Inf']);
    expect(bounds('ipv6')).toEqual([
      '0',
      '16',
      '20',
      '24',
      '28',
      '32',
      '36',
      '40',
      '44',
      '48',
      '56',
      '64',
      '128',
      '+Inf',
    ]);
  });

  it('build info, reload status and the standard Node.js process metrics', async () => {
    const { meridianVersion } = await import('../../../src/util/version.js');
    const { batchAddon } = await import('../../../src/transport/udp-batch.js');
    const info = samples(m, 'meridian_build_info');
    expect(info).toEqual([
      {
        name: 'meridian_build_info',
        labels: { version: meridianVersion(), node: process.versions.node, udp: batchAddon() ? 'batched' : 'dgram' },
        value: 1,
      },
    ]);
    expect(meridianVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(metric(m, 'meridian_config_last_reload_success')).toBe(1);
    expect(metric(m, 'meridian_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(metric(m, 'meridian_ready')).toBe(1);
    // Standard names (no meridian_process_ prefix) so stock Node.js dashboards work.
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_version_info',
    ]) {
      expect(samples(m, name).length, name).toBeGreaterThan(0);
    }
    expect(m.some((s) => s.name.startsWith('meridian_process_'))).toBe(false);
  });

  it('no label value carries a client address or a qname', () => {
    const forbidden = ['127.0.0.1', '1.0.0.0', '2a01', 'nonexistent', 'example.com', 'www', 'big.example', '::1'];
    const labelValues = m.flatMap((s) => Object.values(s.labels));
    for (const v of labelValues)
      for (const f of forbidden) expect(v, `label value ${JSON.stringify(v)}`).not.toContain(f);
    // Every metric is Meridian's own (meridian_*) or one of the standard Node.js process families.
    for (const line of text.split('\n'))
      if (line.startsWith('# TYPE ')) expect(line.split(' ')[2]).toMatch(/^(meridian|process|nodejs)_/);
  });

  it('/healthz is 200 ok', async () => {
    const r = await get(t.server.adminPort!, '/healthz');
    expect(r.status).toBe(200);
    expect(r.body.trim()).toBe('ok');
  });

  it('/readyz is 200 with the running config and databases', async () => {
    const r = await get(t.server.adminPort!, '/readyz');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({
      ready: true,
      listening: true,
      config: { file: t.configFile, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      databases: [{ file: CITY_DB, type: 'GeoIP2-City', usedFor: ['ipv4', 'ipv6'] }],
      lastReloadError: null,
    });
    expect(Number.isNaN(Date.parse(body.config.loadedAt))).toBe(false);
  });
});

describe('query counters for packets without a readable question', () => {
  it("a FORMERR without a question is not counted under the previous query's qtype", async () => {
    const t = await startServer(testConfig());
    try {
      // An AAAA query first, then a header-only packet with QDCOUNT 0.
      expect((await udpQuery(t.port, { name: 'www.example.net', type: 'AAAA' })).rcode).toBe(0);
      const header = Buffer.from([0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      const raw = await udpRaw(t.port, header);
      expect(raw).not.toBeNull();
      expect(raw![3] & 0xf).toBe(1);
      const m = await scrape(t.server.adminPort!);
      const got = Object.fromEntries(
        samples(m, 'meridian_queries_total')
          .filter((s) => s.value > 0)
          .map((s) => [`${s.labels.transport} ${s.labels.qtype} ${s.labels.rcode}`, s.value]),
      );
      expect(got).toEqual({ 'udp AAAA NOERROR': 1, 'udp other FORMERR': 1 });
      expect(metric(m, 'meridian_malformed_queries_total')).toBe(1);
    } finally {
      await t.close();
    }
  });
});

describe('/readyz after a failed reload', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig());
  });
  afterAll(() => t.close());

  it('shows the error with file:line:column, stays ready, and the old config keeps answering', async () => {
    const broken = `${testConfig()}\nbogus_key: 1\n`;
    const line = broken.split('\n').findIndex((l) => l.startsWith('bogus_key')) + 1;
    t.writeConfig(broken);
    const body = await until(async () => {
      const r = await get(t.server.adminPort!, '/readyz');
      const b = JSON.parse(r.body);
      return b.lastReloadError ? { status: r.status, ...b } : null;
    }, 'a reload error in /readyz');
    expect(body.status).toBe(200);
    expect(body.ready).toBe(true);
    expect(body.lastReloadError.issues).toEqual([
      { file: t.configFile, line, column: 1, path: 'bogus_key', message: 'unknown key "bogus_key"' },
    ]);
    expect(body.lastReloadError.message).toBe(`${t.configFile}:${line}:1: bogus_key: unknown key "bogus_key"`);
    // The running config is the old one.
    expect(body.config.sha256).toMatch(/^[0-9a-f]{64}$/);
    const r = await udpQuery(t.port, { name: 'www.example.net', type: 'A' });
    expect(r.rcode).toBe(0);
    expect(r.packet.answers?.map((a) => (a as { data: string }).data)).toEqual(['198.51.100.10']);
    const m = await scrape(t.server.adminPort!);
    expect(metric(m, 'meridian_config_reloads_total', { result: 'failure' })).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'meridian_config_reloads_total', { result: 'success' })).toBe(0);
    // The reload-failing signal alerts use; the timestamp stays at the running config's load.
    expect(metric(m, 'meridian_config_last_reload_success')).toBe(0);
    const loadedAt = Date.parse(body.config.loadedAt) / 1000;
    expect(metric(m, 'meridian_config_last_reload_success_timestamp_seconds')).toBeCloseTo(loadedAt, 2);

    // Fixed: the next reload succeeds and the gauge goes back to 1 with a newer timestamp.
    t.writeConfig(testConfig());
    await until(
      async () => metric(await scrape(t.server.adminPort!), 'meridian_config_last_reload_success') === 1,
      'reload success gauge back to 1',
    );
    const after = await scrape(t.server.adminPort!);
    expect(metric(after, 'meridian_config_reloads_total', { result: 'success' })).toBe(1);
    expect(metric(after, 'meridian_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(loadedAt);
  });
});
