/**
 * The sampled query log (logging.query_sample) never writes a full client
 * address: a real server (UDP and TCP on 127.0.0.1 and ::1) with a pino
 * logger writing to a capture stream.
 *
 *  - query_sample 1 logs every query as a 'query' line: transport, client cut
 *    to /24 (IPv4) or /56 (IPv6), the ECS subnet cut to at most /24 (/56),
 *    name, type, rcode, answers and the scope; "198.51.100.77" (sent as ECS
 *    /32, as an IPv4-mapped ECS and as the hex form) never appears anywhere in
 *    the log, nor does the IPv6 ECS's interface id;
 *  - query_sample 0 logs no query lines; a reload to query_sample 2 logs
 *    every second query;
 *  - truncateAddress: IPv4, IPv6, ::ffff: mapped, scoped and invalid input.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/util/logger.js';
import { truncateAddress } from '../../../src/observability/query-log.js';
import { MeridianServer } from '../../../src/plane/server.js';
import { testConfig } from '../../helpers/configs.js';
import { addresses, tcpQuery, udpQuery, until, type QueryOptions, type Reply } from '../../helpers/dns.js';
import { tempDir, writeAtomically } from '../../helpers/server.js';
import { bigToBytes, cidr, formatCidr, prefixOf } from '../../unit/policy/support.js';
import { withEcs } from '../geo/support.js';

/** A pino destination that keeps every line. */
class Capture {
  readonly lines: string[] = [];
  write(s: string): void {
    for (const l of s.split('\n')) if (l) this.lines.push(l);
  }
  get records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  get queries(): Array<Record<string, unknown>> {
    return this.records.filter((r) => r.msg === 'query' || r.msg === 'query (undecodable)');
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

interface Started {
  server: MeridianServer;
  capture: Capture;
  dir: string;
  configFile: string;
  port4: number;
  port6: number;
}

async function start(sample: number): Promise<Started> {
  const dir = tempDir('meridian-query-log-');
  const configFile = path.join(dir, 'meridian.yaml');
  writeFileSync(configFile, testConfig({ extra: `logging: { query_sample: ${sample} }` }));
  const capture = new Capture();
  const server = await MeridianServer.start({
    configFile,
    listen: ['127.0.0.1:0', '[::1]:0'],
    admin: null,
    logger: createLogger({ level: 'info', destination: capture }),
  });
  const [v4, v6] = server.addresses;
  expect(v4.host).toBe('127.0.0.1');
  expect(v6.host).toBe('::1');
  return { server, capture, dir, configFile, port4: v4.port, port6: v6.port };
}

async function stop(s: Started | undefined): Promise<void> {
  if (!s) return;
  await s.server.close(100);
  rmSync(s.dir, { recursive: true, force: true });
}

const SECRET = '198.51.100.77';

describe('query_sample: 1 (every query logged)', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start(1);
  });
  afterAll(() => stop(s));

  /** Send one query and return its reply and the one new 'query' line. */
  async function logged(send: () => Promise<Reply>): Promise<{ reply: Reply; line: Record<string, unknown> }> {
    const before = s.capture.queries.length;
    const reply = await send();
    await until(() => s.capture.queries.length > before, 'the query line');
    const lines = s.capture.queries.slice(before);
    expect(lines).toHaveLength(1);
    return { reply, line: lines[0] };
  }

  const udp4 = (o: QueryOptions) => () => udpQuery(s.port4, o);
  const tcp4 = (o: QueryOptions) => () => tcpQuery(s.port4, o);
  const udp6 = (o: QueryOptions) => () => udpQuery(s.port6, o, '::1');
  const tcp6 = (o: QueryOptions) => () => tcpQuery(s.port6, o, '::1');

  it('a query without ECS: client /24, no ecs, the question, rcode, answers, no scope', async () => {
    const { reply, line } = await logged(udp4({ name: 'cdn.example.net', type: 'A' }));
    expect(line).toMatchObject({
      component: 'query',
      transport: 'udp',
      client: '127.0.0.0/24',
      ecs: null,
      qname: 'cdn.example.net',
      qtype: 'A',
      rcode: 0,
      answers: addresses(reply),
      scope: null,
      level: 30,
    });
    expect(addresses(reply)).toHaveLength(1);
  });

  it('ECS /32: logged as its /24, never the full address', async () => {
    const { reply, line } = await logged(udp4({ name: 'cdn.example.net', type: 'A', ecs: `${SECRET}/32` }));
    expect(line).toMatchObject({
      transport: 'udp',
      client: '127.0.0.0/24',
      ecs: '198.51.100.0/24',
      answers: addresses(reply),
      scope: reply.ecs!.scope,
    });
    expect(JSON.stringify(line)).not.toContain(SECRET);
  });

  it('ECS shorter than /24 keeps its own length; /24 stays /24', async () => {
    expect((await logged(udp4({ name: 'cdn.example.net', ecs: '198.51.96.0/20' }))).line.ecs).toBe('198.51.96.0/20');
    expect((await logged(udp4({ name: 'cdn.example.net', ecs: '1.0.1.0/24' }))).line.ecs).toBe('1.0.1.0/24');
    expect((await logged(udp4({ name: 'cdn.example.net', ecs: '1.0.0.0/8' }))).line.ecs).toBe('1.0.0.0/8');
    expect((await logged(udp4({ name: 'cdn.example.net', ecs: '0.0.0.0/0' }))).line.ecs).toBe('0.0.0.0/0');
  });

  it('IPv6 ECS: cut to /56', async () => {
    const full = await logged(
      udp4({ name: 'cdn.example.net', type: 'AAAA', ecs: '2001:db8:1234:5678:9abc:def0:4321:8765/128' }),
    );
    expect(full.line.ecs).toBe('2001:db8:1234:5600::/56');
    expect(JSON.stringify(full.line)).not.toMatch(/9abc|def0|4321|8765|5678/);
    expect((await logged(udp4({ name: 'cdn.example.net', type: 'AAAA', ecs: '2a01:0:0:1200::/56' }))).line.ecs).toBe(
      '2a01:0:0:1200::/56',
    );
    expect((await logged(udp4({ name: 'cdn.example.net', type: 'AAAA', ecs: '2a01::/32' }))).line.ecs).toBe(
      '2a01::/32',
    );
  });

  it('an IPv4-mapped ECS address is cut as well', async () => {
    const { line } = await logged(udp4(withEcs('cdn.example.net', 'A', `::ffff:${SECRET}/128`)));
    expect(line.ecs === '198.51.100.0/24' || line.ecs === '::/56', String(line.ecs)).toBe(true);
    expect(JSON.stringify(line)).not.toContain(SECRET);
    expect(JSON.stringify(line)).not.toContain('c633:644d');
  });

  it('TCP: the same cut, transport tcp', async () => {
    const { reply, line } = await logged(tcp4({ name: 'cdn.example.net', type: 'A', ecs: `${SECRET}/32` }));
    expect(line).toMatchObject({
      transport: 'tcp',
      client: '127.0.0.0/24',
      ecs: '198.51.100.0/24',
      answers: addresses(reply),
    });
  });

  it('over [::1] the client is its /56 (UDP and TCP)', async () => {
    const u = await logged(udp6({ name: 'cdn.example.net', type: 'AAAA' }));
    expect(u.line).toMatchObject({ transport: 'udp', client: '::/56', ecs: null, qtype: 'AAAA' });
    const t = await logged(tcp6({ name: 'cdn.example.net', type: 'A', ecs: `${SECRET}/32` }));
    expect(t.line).toMatchObject({ transport: 'tcp', client: '::/56', ecs: '198.51.100.0/24' });
  });

  it('static and negative answers are logged too', async () => {
    const www = await logged(udp4({ name: 'www.example.net', type: 'A' }));
    expect(www.line).toMatchObject({ qname: 'www.example.net', rcode: 0, answers: ['198.51.100.10'], scope: null });
    const nx = await logged(udp4({ name: 'nope.example.net', type: 'A', ecs: `${SECRET}/32` }));
    expect(nx.line).toMatchObject({ qname: 'nope.example.net', rcode: 3, answers: [], ecs: '198.51.100.0/24' });
  });

  it('across everything logged: no full client or ECS address anywhere', () => {
    expect(s.capture.queries.length).toBeGreaterThanOrEqual(15);
    expect(s.capture.text).not.toContain(SECRET);
    for (const q of s.capture.queries) {
      expect(String(q.client)).toMatch(/^(\d+\.\d+\.\d+\.0\/24|[0-9a-f:]+\/56)$/);
      if (q.ecs !== null) {
        const c = cidr(String(q.ecs));
        expect(c.len).toBeLessThanOrEqual(c.family === 4 ? 24 : 56);
      }
      expect(JSON.stringify(q)).not.toContain('127.0.0.1');
    }
  });
});

describe('query_sample: 0 and changes on reload', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start(0);
  });
  afterAll(() => stop(s));

  it('no query lines at 0; after a reload to 2, every second query', async () => {
    for (let i = 0; i < 5; i++) {
      await udpQuery(s.port4, { name: 'cdn.example.net', ecs: `${SECRET}/32` });
      await tcpQuery(s.port4, { name: 'www.example.net' });
      await udpQuery(s.port6, { name: 'cdn.example.net', type: 'AAAA' }, '::1');
    }
    expect(s.capture.queries).toEqual([]);

    writeAtomically(s.configFile, testConfig({ extra: 'logging: { query_sample: 2 }' }));
    const r = await s.server.reload('test');
    expect(r.ok, r.message).toBe(true);
    // The logger works: the reload was logged.
    await until(() => s.capture.records.some((x) => x.msg === 'config reloaded'), 'the reload line');
    expect(s.capture.queries).toEqual([]);

    for (let i = 0; i < 6; i++) await udpQuery(s.port4, { name: 'cdn.example.net', ecs: `${SECRET}/32` });
    await until(() => s.capture.queries.length >= 3, 'three query lines');
    expect(s.capture.queries).toHaveLength(3);
    for (const q of s.capture.queries) expect(q).toMatchObject({ client: '127.0.0.0/24', ecs: '198.51.100.0/24' });
    expect(s.capture.text).not.toContain(SECRET);
  });
});

describe('truncateAddress', () => {
  const CASES: Array<[string, string]> = [
    ['198.51.100.77', '198.51.100.0/24'],
    ['10.0.0.1', '10.0.0.0/24'],
    ['0.0.0.0', '0.0.0.0/24'],
    ['255.255.255.255', '255.255.255.0/24'],
    ['2001:db8:1234:5678:9abc:def0:1234:5678', '2001:db8:1234:5600::/56'],
    ['2001:db8:1234:56ff::1', '2001:db8:1234:5600::/56'],
    ['2001:db8::', '2001:db8::/56'],
    ['::1', '::/56'],
    ['::', '::/56'],
    ['fe80::1%eth0', 'fe80::/56'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ff00::/56'],
    ['::ffff:198.51.100.77', '198.51.100.0/24'],
    ['::FFFF:198.51.100.77', '198.51.100.0/24'],
    ['::ffff:127.0.0.1', '127.0.0.0/24'],
    ['garbage', 'invalid'],
    ['', 'invalid'],
    ['1.2.3.4/24', 'invalid'],
    ['1.2.3', 'invalid'],
  ];
  for (const [input, want] of CASES) {
    it(`${JSON.stringify(input)} -> ${want}`, () => {
      expect(truncateAddress(input)).toBe(want);
    });
  }

  it('the hex form of an IPv4-mapped address is cut too', () => {
    const out = truncateAddress('::ffff:c633:644d');
    expect(['::/56', '198.51.100.0/24']).toContain(out);
  });

  it('any IPv4 address: its /24', () => {
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        const [x, y, z] = a.split('.');
        expect(truncateAddress(a)).toBe(`${x}.${y}.${z}.0/24`);
        expect(truncateAddress(`::ffff:${a}`)).toBe(`${x}.${y}.${z}.0/24`);
      }),
      { numRuns: 2000 },
    );
  });

  it('any IPv6 address, in full or in any compressed form: its /56', () => {
    const full = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((v) => {
      const b = bigToBytes(v, 6);
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
      return groups.join(':');
    });
    fc.assert(
      fc.property(fc.oneof(full, fc.ipV6()), (text) => {
        const v = cidr(text).base;
        if (v >> 32n === 0xffffn) return; // IPv4-mapped: covered above
        const out = truncateAddress(text);
        const c = cidr(out);
        expect(c.len, text).toBe(56);
        expect(formatCidr(c), text).toBe(formatCidr(prefixOf(v, 56, 6)));
      }),
      { numRuns: 3000 },
    );
  });
});
