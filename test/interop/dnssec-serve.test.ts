/**
 * DNSSEC end to end: `meridian serve` (dist/cli.js, two worker processes,
 * so the snapshot's signatures cross IPC and each worker loads the keys for
 * what it signs on demand) serves a zone signed with a KSK and a ZSK made by
 * `meridian keygen`, and real validators judge it with the KSK as their
 * only trust anchor:
 *
 * - BIND's delv: static, CNAME chain, wildcard, geo, NODATA, empty
 *   non-terminal, RFC 9824 compact denial of a name that does not exist,
 *   DNSKEY, CDS and the DS of a signed delegation: "fully validated".
 * - Unbound with its validator and subnetcache, stub-zoned to Meridian:
 *   AD=1 for clients with different ECS subnets, each getting its own PoP
 *   (the scope as without DNSSEC), and for the negative answers; with a
 *   trust anchor that does not match the zone's key, SERVFAIL.
 * - kdig +dnssec shows the RRSIGs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ZoneKey } from '../../src/dnssec/key-files.js';
import { keygen } from '../../src/dnssec/keygen.js';
import { formatDnskey } from '../../src/dnssec/presentation.js';
import { buildQuery, decodeReply, udpRaw, until } from '../helpers/dns.js';
import { makeKeys, signedConfig, writeTrustAnchors } from '../helpers/dnssec.js';
import { ROOT, tempDir } from '../helpers/server.js';
import { DIG, KDIG, digOne, freePort, rdata, requireTool, run, UNBOUND } from './tools.js';
import { startUnbound, type Unbound } from './unbound-process.js';

const DELV = '/usr/bin/delv';
const CLI = path.join(ROOT, 'dist', 'cli.js');

let dir: string;
let keys: ZoneKey[];
let anchors: string;
let port: number;
let serve: ChildProcess;
let output = '';

beforeAll(async () => {
  for (const [tool, pkg] of [
    [DELV, 'bind9-dnsutils'],
    [DIG, 'bind9-dnsutils'],
    [KDIG, 'knot-dnsutils'],
    [UNBOUND, 'unbound'],
  ])
    requireTool(tool, pkg);
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first (the CI script does)');
  dir = tempDir('meridian-dnssec-serve-');
  mkdirSync(path.join(dir, 'keys'));
  keys = makeKeys(path.join(dir, 'keys'), ['ksk', 'zsk']);
  anchors = writeTrustAnchors(path.join(dir, 'anchors.conf'), keys);
  writeFileSync(path.join(dir, 'meridian.yaml'), signedConfig('keys'));
  port = await freePort(['127.0.0.1']);
  serve = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '-c',
      path.join(dir, 'meridian.yaml'),
      '--listen',
      `127.0.0.1:${port}`,
      '--admin',
      'off',
      '--workers',
      '2',
      '--log-format',
      'json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  serve.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  serve.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  // Ready when both workers answer (each has its own socket: ask a few times).
  await until(
    async () => {
      for (let i = 0; i < 6; i++) {
        const raw = await udpRaw(
          port,
          buildQuery({ name: 'www.example.net', type: 'A', edns: true, dnssecOk: true }),
          '127.0.0.1',
          300,
        );
        if (raw === null || decodeReply(raw).rcode !== 0) return false;
      }
      return true;
    },
    `meridian serve on ${port}: ${output}`,
    30_000,
    100,
  );
}, 60_000);

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve.once('exit', r));
    serve.kill('SIGTERM');
    await exited;
  }
});

async function delv(qname: string, qtype: string): Promise<string> {
  const r = await run(DELV, [
    '@127.0.0.1',
    '-p',
    String(port),
    '-a',
    anchors,
    '+root=example.net',
    '+nosplit',
    '+nomtrace',
    qname,
    qtype,
  ]);
  return `${r.stdout}${r.stderr}`;
}

describe('delv validates what meridian serve signs', () => {
  it.each([
    ['www.example.net', 'A', /www\.example\.net\.\s+\d+\s+IN\s+A\s+198\.51\.100\.10/],
    ['static.example.net', 'A', /static\.example\.net\.\s+\d+\s+IN\s+CNAME\s+www\.example\.net\./],
    [
      'dangling.example.net',
      'A',
      /dangling\.example\.net\.\s+\d+\s+IN\s+CNAME\s+nothere\.example\.net\.[\s\S]*nothere\.example\.net\.\s+\d+\s+IN\s+\\-A\s+;-\$NXRRSET/,
    ],
    ['chain.example.net', 'AAAA', /www\.example\.net\.\s+\d+\s+IN\s+AAAA\s+2001:db8:100::10/],
    ['anything.wild.example.net', 'A', /anything\.wild\.example\.net\.\s+\d+\s+IN\s+A\s+198\.51\.100\.99/],
    ['cdn.example.net', 'A', /cdn\.example\.net\.\s+30\s+IN\s+A\s+192\.0\.2\.\d+/],
    ['cdn.example.net', 'AAAA', /cdn\.example\.net\.\s+30\s+IN\s+AAAA\s+2001:db8::\d+/],
    ['any.edge.example.net', 'A', /any\.edge\.example\.net\.\s+30\s+IN\s+A\s+192\.0\.2\.\d+/],
    ['tocdn.example.net', 'A', /cdn\.example\.net\.\s+30\s+IN\s+A\s+192\.0\.2\.\d+/],
    ['www.old.example.net', 'A', /www\.new\.example\.net\.\s+\d+\s+IN\s+A\s+198\.51\.100\.30/],
    [
      'nope.old.example.net',
      'A',
      /DNAME\s+new\.example\.net\.[\s\S]*nope\.new\.example\.net\.\s+\d+\s+IN\s+\\-A\s+;-\$NXRRSET/,
    ],
    [
      'www.old.example.net',
      'MX',
      /DNAME\s+new\.example\.net\.[\s\S]*www\.new\.example\.net\.\s+\d+\s+IN\s+\\-MX\s+;-\$NXRRSET/,
    ],
    ['example.net', 'DNSKEY', /DNSKEY\s+257 3 13/],
    [
      'www.example.net',
      'NSEC',
      /www\.example\.net\.\s+\d+\s+IN\s+NSEC\s+\\000\.www\.example\.net\. A TXT AAAA RRSIG NSEC/,
    ],
    ['example.net', 'CDS', new RegExp(`CDS\\s+${keys?.[0]?.keyTag ?? '\\d+'} 13 2 `)],
    ['secure.example.net', 'DS', /DS\s+60485 13 2/],
  ])('%s %s: fully validated', async (qname, qtype, answer) => {
    const out = await delv(qname, qtype);
    expect(out).toMatch(/^; fully validated$/m);
    expect(out).toMatch(answer);
  });

  it.each([
    ['no-such-name.example.net', 'A'],
    ['a.b.no-such-name.example.net', 'TXT'],
    ['www.example.net', 'MX'],
    ['ent.example.net', 'A'],
    ['anything.wild.example.net', 'AAAA'],
    ['cdn.example.net', 'TXT'],
    ['sub.example.net', 'DS'],
  ])('%s %s: negative response, fully validated', async (qname, qtype) => {
    expect(await delv(qname, qtype)).toMatch(/; negative response, fully validated/);
  });

  it('kdig +dnssec shows the RRSIGs (and none without DO)', async () => {
    const signed = await digOne(KDIG, ['@127.0.0.1', '-p', String(port), '+dnssec', '+norec', 'www.example.net', 'A']);
    expect(signed.answer.map((r) => r.type)).toEqual(['A', 'A', 'RRSIG']);
    expect(rdata(signed.answer, 'RRSIG')[0]).toMatch(
      new RegExp(`^A 13 3 3600 \\d{14} \\d{14} ${keys[1].keyTag} example\\.net\\. `),
    );
    const plain = await digOne(KDIG, ['@127.0.0.1', '-p', String(port), '+norec', 'www.example.net', 'A']);
    expect(plain.answer.map((r) => r.type)).toEqual(['A', 'A']);
  });
});

describe('unbound validates through its subnet cache', () => {
  let ub: Unbound | undefined;
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && ub) console.error(`unbound log (${ub.dir}):\n${ub.log()}`);
    await ub?.stop();
    ub = undefined;
  });

  const validating = (anchor: ZoneKey) =>
    startUnbound(port, {
      modules: 'subnetcache validator iterator',
      server: `  trust-anchor: "example.net. DNSKEY ${formatDnskey(anchor.dnskey)}"\n  val-log-level: 2\n`,
    });
  const ask = (p: number, ...args: string[]) =>
    digOne(DIG, ['@127.0.0.1', '-p', String(p), '+dnssec', '+nocookie', '+time=5', '+tries=1', ...args]);

  it('AD=1 for two ECS clients each answered by its own PoP, and for static and negative answers', async () => {
    ub = await validating(keys[0]);
    const fra = await ask(ub.port, 'cdn.example.net', 'A', '+subnet=1.0.1.0/24');
    const syd = await ask(ub.port, 'cdn.example.net', 'A', '+subnet=6.0.1.0/24');
    for (const r of [fra, syd]) {
      expect(r.status).toBe('NOERROR');
      expect(r.flags).toContain('ad');
    }
    expect(rdata(fra.answer, 'A')).toEqual(['192.0.2.1']);
    expect(rdata(syd.answer, 'A')).toEqual(['192.0.2.6']);
    expect(fra.ecs?.scope).toBeGreaterThan(0);
    const www = await ask(ub.port, 'www.example.net', 'A');
    expect([www.status, www.flags.includes('ad')]).toEqual(['NOERROR', true]);
    const nx = await ask(ub.port, 'no-such-name.example.net', 'A');
    expect(nx.flags).toContain('ad');
    expect(['NOERROR', 'NXDOMAIN']).toContain(nx.status);
    expect(nx.answer).toEqual([]);
    const nodata = await ask(ub.port, 'www.example.net', 'MX');
    expect([nodata.status, nodata.flags.includes('ad'), nodata.answer]).toEqual(['NOERROR', true, []]);
    const wild = await ask(ub.port, 'q.wild.example.net', 'TXT');
    expect([wild.status, wild.flags.includes('ad'), rdata(wild.answer, 'TXT')]).toEqual([
      'NOERROR',
      true,
      ['"wildcard"'],
    ]);
  });

  it('SERVFAIL when the trust anchor is not the key that signs (a key mismatch)', async () => {
    const stranger = keygen({
      zone: 'example.net',
      role: 'ksk',
      directory: tempDir(),
      now: Math.floor(Date.now() / 1000) - 60,
    });
    ub = await validating(stranger);
    const r = await ask(ub.port, 'www.example.net', 'A');
    expect(r.status).toBe('SERVFAIL');
    expect(r.flags).not.toContain('ad');
  });
});
