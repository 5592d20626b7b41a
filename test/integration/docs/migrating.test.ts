/**
 * docs/migrating.md: the Meridian config written next to the gdnsd and
 * PowerDNS ones loads as it is (schema, references), and, run with the test
 * City database in place of GeoLite2-City and its health checks pointed at a
 * local HTTP endpoint (the PoP addresses are documentation ranges, never
 * probed from a test), it answers what the doc's table says: the office
 * network to London, German clients to Frankfurt, the rest to the nearest
 * PoP, unplaceable clients to the fallback. The health check as written
 * (GET /health, Host: cdn.example.net, status 200) keeps every PoP up.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/build/config/load.js';
import { CITY_DB } from '../../helpers/configs.js';
import { addresses, udpQuery, until } from '../../helpers/dns.js';
import { ROOT, startServer, type TestServer } from '../../helpers/server.js';
import { getJson } from '../ops/admin-http.js';
import { yamlBlocks } from './doc-configs.js';

const DOC = 'docs/migrating.md';
const blocks = yamlBlocks(DOC);

/** The doc's table: client subnet (a fixture network of that place) -> answer. */
const TABLE: Array<[string, string, string]> = [
  ['office network', '198.51.100.0/24', '192.0.2.2'],
  ['Frankfurt (DE)', '1.0.1.0/24', '192.0.2.1'],
  ['Munich (DE)', '1.1.0.0/24', '192.0.2.1'],
  ['London (GB)', '2.10.0.0/24', '192.0.2.2'],
  ['New York (US)', '3.0.0.0/24', '192.0.2.3'],
  ['Tokyo (JP)', '5.0.0.0/24', '192.0.2.9'],
  ['unplaceable', '12.0.0.0/24', '192.0.2.1'],
];

describe('docs/migrating.md: the Meridian config', () => {
  let health: http.Server;
  const probes: Array<{ path?: string; host?: string }> = [];
  let t: TestServer;

  beforeAll(async () => {
    health = http.createServer((req, res) => {
      probes.push({ path: req.url, host: req.headers.host });
      const ok = req.url === '/health' && req.headers.host?.startsWith('cdn.example.net');
      res.writeHead(ok ? 200 : 404).end(ok ? 'OK' : 'no');
    });
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
    const port = (health.address() as AddressInfo).port;
    const yaml = blocks[0].text
      .replace('/var/lib/GeoIP/GeoLite2-City.mmdb', JSON.stringify(CITY_DB))
      // Probe a local endpoint instead of the PoPs' documentation addresses.
      .replace('    port: 80\n', `    port: ${port}\n    target: 127.0.0.1\n`);
    t = await startServer(yaml);
  });
  afterAll(async () => {
    await t?.close();
    health?.close();
  });

  it('is one complete YAML config that loads as written (gdnsd and PowerDNS files are fenced as text)', () => {
    expect(blocks).toHaveLength(1);
    const loaded = parseConfigText(blocks[0].text, `${DOC}:${blocks[0].line}`);
    expect(Object.keys(loaded.config.pops)).toEqual(['fra', 'lon', 'iad', 'sin']);
    expect(loaded.config.health.defaults).toMatchObject({
      type: 'http',
      port: 80,
      path: '/health',
      host: 'cdn.example.net',
      expect_status: [200],
      rise: 2,
      fall: 3,
    });
    expect(loaded.config.policies.cdn_map.candidates).toBe(3);
  });

  it('answers what the table says, over UDP with ECS', async () => {
    for (const [who, subnet, want] of TABLE) {
      const r = await udpQuery(t.port, { name: 'cdn.example.net', type: 'A', ecs: subnet });
      expect(addresses(r), who).toEqual([want]);
      expect(r.packet.answers?.[0] && (r.packet.answers[0] as { ttl: number }).ttl, who).toBe(30);
    }
    // IPv6: a German network gets Frankfurt's IPv6 address.
    expect(addresses(await udpQuery(t.port, { name: 'cdn.example.net', type: 'AAAA', ecs: '2a01::/48' }))).toEqual([
      '2001:db8:0:1::1',
    ]);
  });

  it('the health check as written (GET /health, Host cdn.example.net, 200) is what the PoPs are probed with, and keeps them up', async () => {
    await until(() => probes.length >= 4, 'every PoP probed once');
    expect(probes.every((p) => p.path === '/health' && p.host?.startsWith('cdn.example.net'))).toBe(true);
    const pops = await getJson<Array<{ id: string; up: boolean; serving: boolean }>>(
      t.server.adminPort!,
      '/admin/pops',
    );
    expect(pops.map((p) => [p.id, p.up, p.serving])).toEqual([
      ['fra', true, true],
      ['lon', true, true],
      ['iad', true, true],
      ['sin', true, true],
    ]);
  });

  it("the doc's table has the rows this test checks", () => {
    const doc = readFileSync(`${ROOT}/${DOC}`, 'utf8');
    for (const row of [
      '| `198.51.100.7` | anywhere | London |',
      '| Frankfurt /24 | DE | Frankfurt |',
      '| Munich /24 | DE | Frankfurt |',
      '| London /24 | GB | London |',
      '| New York /24 | US | Ashburn |',
      '| Tokyo /24 | JP | Singapore |',
      '| a network the database cannot place | — | Frankfurt |',
    ]) {
      expect(doc, row).toContain(row);
    }
  });
});
