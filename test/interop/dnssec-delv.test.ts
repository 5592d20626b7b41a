/**
 * A real validator judges the online-signing design before it is wired:
 * BIND's delv, with the test zone's key as its only trust anchor, queries
 * a test-only responder that answers with the signing core's output
 * (test/interop/dnssec-responder.ts) and must report "fully validated" for
 * signed positive answers, for RFC 9824 compact denial of a name that does
 * not exist (NOERROR + NSEC with NXNAME), for NODATA, for an empty
 * non-terminal, and for a wildcard answer signed as an exact match of the
 * query name. The negative control: the same wildcard answer carrying the
 * wildcard's own signature and no denial must fail validation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RRType } from '../../src/dnssec/constants.js';
import { keygen } from '../../src/dnssec/keygen.js';
import { formatDnskey } from '../../src/dnssec/presentation.js';
import { encodeRR } from '../../src/wire/rr.js';
import { startResponder, type ResponderZone } from './dnssec-responder.js';
import { requireTool, run } from './tools.js';

const DELV = '/usr/bin/delv';
const ORIGIN = 'example.test';

let dir: string;
let anchors: string;
const responders: { close(): Promise<void> }[] = [];

const rdataOf = (type: string, data: unknown) => encodeRR({ name: '', type, ttl: 0, data }).subarray(11);

function zone(wildcardSignature: ResponderZone['wildcardSignature'], algorithm: number): ResponderZone {
  const now = Math.floor(Date.now() / 1000) - 60;
  const key = keygen({ zone: ORIGIN, role: 'csk', algorithm, directory: mkdtempSync(path.join(dir, 'k-')), now });
  const node = (entries: [string, number, unknown[]][]) =>
    new Map(
      entries.map(
        ([type, ttl, data]) =>
          [RRType[type as keyof typeof RRType], { ttl, rdata: data.map((d) => rdataOf(type, d)) }] as const,
      ),
    );
  const records = new Map([
    [
      ORIGIN,
      node([
        [
          'SOA',
          3600,
          [
            {
              mname: 'ns1.example.test',
              rname: 'hostmaster.example.test',
              serial: 1,
              refresh: 3600,
              retry: 900,
              expire: 604800,
              minimum: 300,
            },
          ],
        ],
        ['NS', 3600, ['ns1.example.test']],
      ]),
    ],
    ['ns1.example.test', node([['A', 3600, ['192.0.2.53']]])],
    [
      'www.example.test',
      node([
        ['A', 300, ['192.0.2.2', '192.0.2.1']],
        ['AAAA', 300, ['2001:db8::1']],
      ]),
    ],
    ['cdn.example.test', node([['A', 60, ['198.51.100.7']]])],
    ['x.ent.example.test', node([['A', 300, ['192.0.2.7']]])],
    [
      '*.wild.example.test',
      node([
        ['A', 60, ['192.0.2.99']],
        ['TXT', 60, [['wild']]],
      ]),
    ],
  ]);
  anchors = path.join(dir, `anchors-${key.keyTag}.conf`);
  const [flags, protocol, alg, ...b64] = formatDnskey(key.dnskey).split(' ');
  writeFileSync(
    anchors,
    `trust-anchors {\n  ${ORIGIN}. static-key ${flags} ${protocol} ${alg} "${b64.join('')}";\n};\n`,
  );
  return { origin: ORIGIN, records, keys: [key], negativeTtl: 300, wildcardSignature };
}

async function delv(port: number, anchorFile: string, qname: string, qtype: string) {
  const r = await run(
    DELV,
    [`@127.0.0.1`, '-p', String(port), '-a', anchorFile, `+root=${ORIGIN}`, '+nosplit', '+nomtrace', qname, qtype],
    { timeoutMs: 20_000 },
  );
  return `${r.stdout}${r.stderr}`;
}

beforeAll(() => {
  requireTool(DELV, 'bind9-dnsutils');
  dir = mkdtempSync(path.join(tmpdir(), 'meridian-delv-'));
});
afterAll(async () => {
  await Promise.all(responders.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['ECDSAP256SHA256', 13],
  ['ED25519', 15],
])('delv validates compact answers signed with %s', (_name, algorithm) => {
  let port: number;
  let anchorFile: string;
  beforeAll(async () => {
    const z = zone('exact', algorithm);
    anchorFile = anchors;
    const r = await startResponder(z);
    responders.push(r);
    port = r.port;
  });

  it('positive answers: an A set of two (canonical order), AAAA, the apex SOA', async () => {
    const out = await delv(port, anchorFile, 'www.example.test', 'A');
    expect(out).toMatch(/; fully validated/);
    expect(out).toMatch(/www\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.1/);
    expect(out).toMatch(/www\.example\.test\.\s+300\s+IN\s+RRSIG\s+A \d+ 3 300 /);
    expect(await delv(port, anchorFile, 'WWW.Example.TEST', 'AAAA')).toMatch(/; fully validated/);
    expect(await delv(port, anchorFile, 'example.test', 'SOA')).toMatch(/; fully validated/);
  });

  it('a name that does not exist: NOERROR with NSEC RRSIG NSEC NXNAME, a validated negative answer', async () => {
    const out = await delv(port, anchorFile, 'no-such-name.example.test', 'A');
    expect(out).toMatch(/; negative response, fully validated/);
    // BIND 9.18 predates RFC 9824 and prints NXNAME as TYPE128; it validates all the same
    expect(out).toMatch(/no-such-name\.example\.test\. NSEC \\000\.no-such-name\.example\.test\. RRSIG NSEC TYPE128/);
  });

  it('a random-subdomain-style binary label is denied too', async () => {
    expect(await delv(port, anchorFile, 'q\\255\\000x.example.test', 'A')).toMatch(
      /; negative response, fully validated/,
    );
  });

  it('NODATA and an empty non-terminal', async () => {
    const nodata = await delv(port, anchorFile, 'www.example.test', 'TXT');
    expect(nodata).toMatch(/; negative response, fully validated/);
    expect(nodata).toMatch(/NSEC\s+\\000\.www\.example\.test\. A AAAA RRSIG NSEC/);
    const ent = await delv(port, anchorFile, 'ent.example.test', 'A');
    expect(ent).toMatch(/; negative response, fully validated/);
    expect(ent).toMatch(/NSEC\s+\\000\.ent\.example\.test\. RRSIG NSEC\s*$/m);
  });

  it('a wildcard answer signed as an exact match of the query name (RFC 9824 section 3.3), and wildcard NODATA', async () => {
    const out = await delv(port, anchorFile, 'anything.wild.example.test', 'A');
    expect(out).toMatch(/; fully validated/);
    expect(out).toMatch(/anything\.wild\.example\.test\.\s+60\s+IN\s+RRSIG\s+A \d+ 4 60 /);
    const nodata = await delv(port, anchorFile, 'anything.wild.example.test', 'AAAA');
    expect(nodata).toMatch(/; negative response, fully validated/);
    expect(nodata).toMatch(/A TXT RRSIG NSEC/);
  });
});

it("negative control: a wildcard expansion with the wildcard's signature and no denial does not validate", async () => {
  const z = zone('wildcard', 13);
  const r = await startResponder(z);
  responders.push(r);
  const out = await delv(r.port, anchors, 'anything.wild.example.test', 'A');
  expect(out).not.toMatch(/fully validated/);
  expect(out).toMatch(/resolution failed: no valid NSEC/); // the expansion needs a proof that the name itself does not exist
});
