/**
 * The new record types as two independent decoders show them: BIND's dig and
 * Knot's kdig query a real server loaded with
 * test/fixtures/zones/types.example.zone (RFC vectors) and print each answer
 * in presentation format, which must read back as what the zone file says;
 * DNAME substitution as both tools see it, and kdig following it over TCP.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_ZONE, testConfig } from '../helpers/configs.js';
import { ROOT, startServer, type TestServer } from '../helpers/server.js';
import { DIG, KDIG, digOne, requireTool, type ToolRR } from './tools.js';

let t: TestServer;

beforeAll(async () => {
  requireTool(DIG, 'bind9-dnsutils');
  requireTool(KDIG, 'knot-dnsutils');
  const zoneFile = readFileSync(path.join(ROOT, 'test', 'fixtures', 'zones', 'types.example.zone'), 'utf8');
  t = await startServer(
    testConfig({ zones: `${STATIC_ZONE}  - origin: example.com.\n    file: types.example.zone\n` }),
    { files: { 'types.example.zone': zoneFile } },
  );
});

afterAll(async () => {
  await t?.close();
});

const TOOLS: Array<[string, (...args: string[]) => ReturnType<typeof digOne>]> = [
  [
    'dig',
    (...args) =>
      digOne(DIG, ['@127.0.0.1', '-p', String(t.port), '+norec', '+nocookie', '+time=3', '+tries=1', ...args]),
  ],
  ['kdig', (...args) => digOne(KDIG, ['@127.0.0.1', '-p', String(t.port), '+norec', '+time=3', '+retry=0', ...args])],
];

/** Presentation data with hex chunks joined and the case folded, so both tools' layouts compare. */
const norm = (rr: ToolRR) =>
  rr.data
    .replace(/\b([0-9A-F]{8,}) (?=[0-9A-F]+\b)/gi, '$1')
    .replace(/"/g, '')
    .toLowerCase();

describe.each(TOOLS)('%s reads every type back as written', (_tool, ask) => {
  it.each([
    ['example.com', 'HTTPS', '1 . alpn=h2,h3 ipv4hint=192.0.2.80'],
    ['svc.example.com', 'SVCB', '16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1'],
    ['svc6.example.com', 'SVCB', '1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1'],
    ['alias.example.com', 'HTTPS', '0 svc.example.com.'],
    ['_443._tcp.www.example.com', 'TLSA', '0 0 1 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971'],
    ['www.example.com', 'SSHFP', '2 1 123456789abcdef67890123456789abcdef67890'],
    ['example.com', 'NAPTR', '100 10 s sip+d2u  _sip._udp.example.com.'],
    ['sub.example.com', 'DS', '60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118'],
    ['weird.example.com', 'TYPE65400', '\\# 3 abcdef'],
  ])('%s %s', async (name, type, data) => {
    const m = await ask(name, type);
    expect(m.status).toBe('NOERROR');
    expect(m.flags).toContain('aa');
    expect(m.answer.map((rr) => [rr.name, rr.type, norm(rr)])).toEqual([[`${name}.`, type, data]]);
  });

  it('LOC (RFC 1876): the position, altitude, size and precisions', async () => {
    const [rr] = (await ask('example.com', 'LOC')).answer;
    // dig: "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m"; kdig: "42 21 54 N 71 6 18 W -24m 30m 10000m 10m".
    expect(rr.data.replace(/\.0+(?=[ m])/g, '').replace(/\s+/g, ' ')).toBe('42 21 54 N 71 6 18 W -24m 30m 10000m 10m');
  });

  it('DNAME: the DNAME, the synthesised CNAME and the data of the new name', async () => {
    const m = await ask('www.old.example.com', 'A');
    expect(m.status).toBe('NOERROR');
    expect(m.answer.map((rr) => `${rr.name} ${rr.ttl} ${rr.type} ${rr.data}`)).toEqual([
      'old.example.com. 300 DNAME example.net.',
      'www.old.example.com. 300 CNAME www.example.net.',
      'www.example.net. 3600 A 198.51.100.10',
    ]);
    const nx = await ask('nope.old.example.com', 'A');
    expect([nx.status, nx.answer.map((rr) => rr.type), nx.authority.map((rr) => rr.type)]).toEqual([
      'NXDOMAIN',
      ['DNAME', 'CNAME'],
      ['SOA'],
    ]);
    const label = 'q'.repeat(60);
    const yx = await ask(`${label}.${label}.long.example.com`, 'A');
    expect([yx.status, yx.answer.map((rr) => rr.type)]).toEqual(['YXDOMAIN', ['DNAME']]);
  });

  it('the same over TCP', async () => {
    const m = await ask('www.old2.example.com', 'A', '+tcp');
    expect(m.transport).toBe('TCP');
    expect(m.answer.map((rr) => rr.type)).toEqual(['DNAME', 'CNAME', 'DNAME', 'CNAME', 'A']);
  });
});
