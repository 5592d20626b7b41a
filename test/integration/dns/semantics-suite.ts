/**
 * DNS semantics of a real server on STATIC_ZONE (docs/design.md), over
 * UDP and TCP with the independent test client, plus Node's c-ares resolver
 * as a second, unrelated client. A suite run twice, once per UDP
 * implementation: semantics.test.ts (the batched addon) and
 * semantics-dgram.test.ts (node:dgram); each file runs in a process of its own.
 */
import { promises as dnsPromises } from 'node:dns';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../helpers/configs.js';
import {
  addresses,
  buildQuery,
  decodeReply,
  tcpExchange,
  tcpQuery,
  udpQuery,
  udpRaw,
  type QueryOptions,
  type Reply,
} from '../../helpers/dns.js';
import { startServer, type TestServer } from '../../helpers/server.js';

type Query = (port: number, o: QueryOptions) => Promise<Reply>;
const TRANSPORTS: Array<[string, Query]> = [
  ['udp', (port, o) => udpQuery(port, o)],
  ['tcp', (port, o) => tcpQuery(port, o)],
];

const NOERROR = 0;
const FORMERR = 1;
const NXDOMAIN = 3;
const NOTIMP = 4;
const REFUSED = 5;
const BADVERS = 16;

interface RR {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  data?: unknown;
}

const answersOf = (r: Reply): RR[] => (r.packet.answers ?? []) as RR[];
const authorityOf = (r: Reply): RR[] => (r.packet.authorities ?? []) as RR[];
/** Additional section without the OPT pseudo-record. */
const additionalOf = (r: Reply): RR[] => ((r.packet.additionals ?? []) as RR[]).filter((a) => a.type !== 'OPT');
const txt = (rr: RR): string => (rr.data as Buffer[]).map((b) => b.toString()).join('');

/** dns-packet clears QR in queries it encodes: set it by hand. */
function withQr(msg: Buffer): Buffer {
  const out = Buffer.from(msg);
  out[2] |= 0x80;
  return out;
}

/** Run the whole suite against a server whose UDP listeners are `udpMode`. */
export function semanticsSuite(udpMode: 'batched' | 'dgram'): void {
  describe(`DNS semantics (UDP over ${udpMode})`, () => {
    let t: TestServer;
    let port: number;

    beforeAll(async () => {
      t = await startServer(testConfig());
      port = t.port;
    });
    afterAll(() => t.close());

    it(`serves UDP with ${udpMode === 'batched' ? 'the batched addon (recvmmsg/sendmmsg)' : 'node:dgram'}`, () => {
      expect(t.server.data.udpMode).toBe(udpMode);
      expect(t.server.data.udp[0].socket === null).toBe(udpMode === 'batched');
    });

    /** The SOA of example.net as a negative answer (RFC 2308: TTL = min(SOA TTL 600, minimum 300)). */
    function expectNegativeSoa(r: Reply): void {
      const auth = authorityOf(r);
      expect(auth).toHaveLength(1);
      expect(auth[0].type).toBe('SOA');
      expect(auth[0].name).toBe('example.net');
      expect(auth[0].ttl).toBe(300);
      const soa = auth[0].data as dnsPacket.SoaData;
      expect(soa.serial).toBe(2026010101);
      expect(soa.minimum).toBe(300);
      expect(soa.mname).toBe('ns1.example.net');
    }

    describe.each(TRANSPORTS)('over %s', (transportName, query) => {
      it('sets AA on authoritative answers, positive and negative', async () => {
        for (const [name, type] of [
          ['www.example.net', 'A'],
          ['example.net', 'SOA'],
          ['example.net', 'NS'],
          ['nope.example.net', 'A'],
          ['mail.example.net', 'AAAA'],
        ]) {
          const r = await query(port, { name, type });
          expect(r.flags.aa, `${name} ${type}`).toBe(true);
          expect(r.flags.qr).toBe(true);
          expect(r.flags.tc).toBe(false);
        }
      });

      it('answers A and AAAA for a static name', async () => {
        const a = await query(port, { name: 'www.example.net', type: 'A' });
        expect(a.rcode).toBe(NOERROR);
        expect(addresses(a)).toEqual(['198.51.100.10']);
        expect(answersOf(a)[0].ttl).toBe(3600);
        const aaaa = await query(port, { name: 'www.example.net', type: 'AAAA' });
        expect(addresses(aaaa)).toEqual(['2001:db8:100::10']);
      });

      it('answers SOA and NS at the apex', async () => {
        const soa = await query(port, { name: 'example.net', type: 'SOA' });
        expect(answersOf(soa)).toHaveLength(1);
        expect(answersOf(soa)[0].ttl).toBe(600);
        expect((answersOf(soa)[0].data as dnsPacket.SoaData).serial).toBe(2026010101);
        const ns = await query(port, { name: 'example.net', type: 'NS' });
        expect(
          answersOf(ns)
            .map((a) => a.data)
            .sort(),
        ).toEqual(['ns1.example.net', 'ns2.example.net']);
      });

      it('NXDOMAIN with the SOA in authority, TTL min(SOA TTL, minimum) = 300', async () => {
        for (const name of ['nope.example.net', 'x.www.example.net', 'deeper.nope.example.net', 'x.c.example.net']) {
          const r = await query(port, { name, type: 'A' });
          expect(r.rcode, name).toBe(NXDOMAIN);
          expect(r.flags.aa).toBe(true);
          expect(answersOf(r)).toEqual([]);
          expectNegativeSoa(r);
        }
      });

      it('NODATA (existing name, missing type): NOERROR, empty answer, SOA', async () => {
        for (const [name, type] of [
          ['mail.example.net', 'AAAA'],
          ['www.example.net', 'MX'],
          ['www.example.net', 'TXT'],
          ['ns2.example.net', 'AAAA'],
          ['sip.example.net', 'SRV'],
        ]) {
          const r = await query(port, { name, type });
          expect(r.rcode, `${name} ${type}`).toBe(NOERROR);
          expect(r.flags.aa).toBe(true);
          expect(answersOf(r)).toEqual([]);
          expectNegativeSoa(r);
        }
      });

      it('empty non-terminals (c, b.c) are NODATA, not NXDOMAIN; the leaf below answers', async () => {
        for (const name of ['c.example.net', 'b.c.example.net', 'B.C.example.net']) {
          for (const type of ['A', 'TXT']) {
            const r = await query(port, { name, type });
            expect(r.rcode, `${name} ${type}`).toBe(NOERROR);
            expect(answersOf(r)).toEqual([]);
            expectNegativeSoa(r);
          }
        }
        const leaf = await query(port, { name: 'a.b.c.example.net', type: 'TXT' });
        expect(answersOf(leaf).map(txt)).toEqual(['deep']);
      });

      it('REFUSED outside our zones, with no answer and no authority', async () => {
        for (const [name, type] of [
          ['example.com', 'A'],
          ['www.example.org', 'A'],
          ['net', 'NS'],
          ['.', 'NS'],
          ['.', 'SOA'],
          ['notexample.net', 'A'],
          ['localhost', 'A'],
        ]) {
          const r = await query(port, { name, type });
          expect(r.rcode, `${name} ${type}`).toBe(REFUSED);
          expect(r.flags.aa).toBe(false);
          expect(answersOf(r)).toEqual([]);
          expect(authorityOf(r)).toEqual([]);
          expect(additionalOf(r)).toEqual([]);
        }
      });

      it('CNAME: alias -> www A, with each owner right', async () => {
        const r = await query(port, { name: 'alias.example.net', type: 'A' });
        expect(r.rcode).toBe(NOERROR);
        expect(r.flags.aa).toBe(true);
        expect(answersOf(r).map((a) => [a.name, a.type, a.data])).toEqual([
          ['alias.example.net', 'CNAME', 'www.example.net'],
          ['www.example.net', 'A', '198.51.100.10'],
        ]);
        const aaaa = await query(port, { name: 'alias.example.net', type: 'AAAA' });
        expect(answersOf(aaaa).map((a) => a.type)).toEqual(['CNAME', 'AAAA']);
      });

      it('CNAME chain: chain -> alias -> www', async () => {
        const r = await query(port, { name: 'chain.example.net', type: 'A' });
        expect(r.rcode).toBe(NOERROR);
        expect(answersOf(r).map((a) => [a.name, a.type, a.data])).toEqual([
          ['chain.example.net', 'CNAME', 'alias.example.net'],
          ['alias.example.net', 'CNAME', 'www.example.net'],
          ['www.example.net', 'A', '198.51.100.10'],
        ]);
      });

      it('CNAME chain ending at a name without the type: the CNAMEs plus the SOA, NOERROR', async () => {
        const r = await query(port, { name: 'chain.example.net', type: 'MX' });
        expect(r.rcode).toBe(NOERROR);
        expect(answersOf(r).map((a) => a.type)).toEqual(['CNAME', 'CNAME']);
        expectNegativeSoa(r);
      });

      it('dangling CNAME: the CNAME with rcode NXDOMAIN (RFC 6604) and the SOA', async () => {
        const r = await query(port, { name: 'dangling.example.net', type: 'A' });
        expect(r.rcode).toBe(NXDOMAIN);
        expect(r.flags.aa).toBe(true);
        expect(answersOf(r).map((a) => [a.name, a.type, a.data])).toEqual([
          ['dangling.example.net', 'CNAME', 'missing.example.net'],
        ]);
        expectNegativeSoa(r);
      });

      it('a CNAME loop terminates with CNAMEs only', async () => {
        for (const name of ['loop1.example.net', 'loop2.example.net']) {
          const r = await query(port, { name, type: 'A' });
          expect([NOERROR, 2]).toContain(r.rcode);
          const ans = answersOf(r);
          expect(ans.length).toBeGreaterThanOrEqual(1);
          expect(ans.length).toBeLessThanOrEqual(9);
          expect(ans.every((a) => a.type === 'CNAME')).toBe(true);
          expect(ans[0].name).toBe(name);
        }
      });

      it('a CNAME to an out-of-zone target returns just the CNAME', async () => {
        const r = await query(port, { name: 'outside.example.net', type: 'A' });
        expect(r.rcode).toBe(NOERROR);
        expect(r.flags.aa).toBe(true);
        expect(answersOf(r).map((a) => [a.name, a.type, a.data])).toEqual([
          ['outside.example.net', 'CNAME', 'www.example.org'],
        ]);
        expect(additionalOf(r)).toEqual([]);
      });

      it('qtype CNAME returns the CNAME itself, not chased', async () => {
        for (const [name, target] of [
          ['alias.example.net', 'www.example.net'],
          ['chain.example.net', 'alias.example.net'],
          ['dangling.example.net', 'missing.example.net'],
        ]) {
          const r = await query(port, { name, type: 'CNAME' });
          expect(r.rcode).toBe(NOERROR);
          expect(answersOf(r).map((a) => [a.name, a.type, a.data])).toEqual([[name, 'CNAME', target]]);
        }
      });

      it('wildcard synthesis: foo.wild and a.b.wild get *.wild A/TXT with owner = qname', async () => {
        for (const name of ['foo.wild.example.net', 'a.b.wild.example.net', 'FOO.Wild.example.net']) {
          const a = await query(port, { name, type: 'A' });
          expect(a.rcode).toBe(NOERROR);
          expect(a.flags.aa).toBe(true);
          expect(answersOf(a).map((x) => [x.name, x.type, x.data])).toEqual([[name, 'A', '198.51.100.99']]);
          const t2 = await query(port, { name, type: 'TXT' });
          expect(answersOf(t2).map((x) => [x.name, txt(x)])).toEqual([[name, 'wildcard']]);
        }
      });

      it('an existing name under the wildcard parent (host.wild) is not synthesized', async () => {
        const a = await query(port, { name: 'host.wild.example.net', type: 'A' });
        expect(addresses(a)).toEqual(['198.51.100.98']);
        const t2 = await query(port, { name: 'host.wild.example.net', type: 'TXT' });
        expect(t2.rcode).toBe(NOERROR);
        expect(answersOf(t2)).toEqual([]);
        expectNegativeSoa(t2);
        // Below an existing name the wildcard does not apply (closest encloser is host.wild).
        const below = await query(port, { name: 'x.host.wild.example.net', type: 'A' });
        expect(below.rcode).toBe(NXDOMAIN);
      });

      it('wildcard NODATA for a type the wildcard does not have (MX)', async () => {
        const r = await query(port, { name: 'foo.wild.example.net', type: 'MX' });
        expect(r.rcode).toBe(NOERROR);
        expect(r.flags.aa).toBe(true);
        expect(answersOf(r)).toEqual([]);
        expectNegativeSoa(r);
      });

      it('the wildcard parent itself (an empty non-terminal) is NODATA', async () => {
        const r = await query(port, { name: 'wild.example.net', type: 'A' });
        expect(r.rcode).toBe(NOERROR);
        expect(answersOf(r)).toEqual([]);
      });

      it('referral at and below sub.example.net: no AA, NS in authority, in-bailiwick glue only', async () => {
        for (const [name, type] of [
          ['sub.example.net', 'A'],
          ['x.y.sub.example.net', 'A'],
          ['X.Y.SUB.example.net', 'AAAA'],
          ['ns1.sub.example.net', 'A'],
          ['sub.example.net', 'NS'],
        ]) {
          const r = await query(port, { name, type });
          expect(r.rcode, `${name} ${type}`).toBe(NOERROR);
          expect(r.flags.aa).toBe(false);
          expect(answersOf(r)).toEqual([]);
          const auth = authorityOf(r);
          expect(auth.every((a) => a.type === 'NS' && a.name === 'sub.example.net')).toBe(true);
          expect(auth.map((a) => a.data).sort()).toEqual(['ns.elsewhere.org', 'ns1.sub.example.net']);
          const add = additionalOf(r);
          expect(add.map((a) => [a.name, a.type, a.data])).toEqual([['ns1.sub.example.net', 'A', '198.51.100.200']]);
        }
      });

      it('DS at the delegation point is answered by the parent: NODATA with AA', async () => {
        const r = await query(port, { name: 'sub.example.net', type: 'DS' });
        expect(r.rcode).toBe(NOERROR);
        expect(r.flags.aa).toBe(true);
        expect(answersOf(r)).toEqual([]);
        expectNegativeSoa(r);
      });

      it('preserves the qname case in the question and answer owner', async () => {
        const q = buildQuery({ name: 'WwW.ExAmPlE.nEt', type: 'A', id: 4321 });
        const r =
          transportName === 'udp'
            ? decodeReply((await udpRaw(port, q))!)
            : decodeReply((await tcpExchange(port, [q]))[0]);
        expect(r.packet.id).toBe(4321);
        expect(r.packet.questions?.[0].name).toBe('WwW.ExAmPlE.nEt');
        expect(answersOf(r)[0].name).toBe('WwW.ExAmPlE.nEt');
        expect(addresses(r)).toEqual(['198.51.100.10']);
        expect(Buffer.compare(r.raw.subarray(12, 12 + 17 + 4), q.subarray(12, 12 + 17 + 4))).toBe(0);
      });

      it('ANY is answered minimally with one RRset (RFC 8482)', async () => {
        for (const name of [
          'example.net',
          'www.example.net',
          'alias.example.net',
          'foo.wild.example.net',
          'mail.example.net',
        ]) {
          const r = await query(port, { name, type: 'ANY' });
          expect(r.rcode, name).toBe(NOERROR);
          expect(r.flags.aa).toBe(true);
          const ans = answersOf(r);
          expect(ans.length, name).toBeGreaterThanOrEqual(1);
          expect(new Set(ans.map((a) => `${a.name}|${a.type}`)).size, `${name}: ${ans.map((a) => a.type)}`).toBe(1);
          expect(ans[0].name).toBe(name);
        }
        const alias = await query(port, { name: 'alias.example.net', type: 'ANY' });
        expect(answersOf(alias).map((a) => a.type)).toEqual(['CNAME']);
      });

      it('SRV, CAA, PTR, MX and TXT answers decode', async () => {
        const srv = await query(port, { name: '_sip._tcp.example.net', type: 'SRV' });
        expect(answersOf(srv).map((a) => a.data)).toEqual([
          { priority: 10, weight: 5, port: 5060, target: 'sip.example.net' },
        ]);
        const caa = await query(port, { name: 'caa.example.net', type: 'CAA' });
        const c = answersOf(caa)[0].data as dnsPacket.CaaData;
        expect([answersOf(caa).length, c.flags, c.tag, c.value]).toEqual([1, 0, 'issue', 'letsencrypt.org']);
        const ptr = await query(port, { name: '4.3.2.1.in-addr.example.net', type: 'PTR' });
        expect(answersOf(ptr).map((a) => a.data)).toEqual(['www.example.net']);
        const mx = await query(port, { name: 'example.net', type: 'MX' });
        expect(answersOf(mx).map((a) => a.data)).toEqual([{ preference: 10, exchange: 'mail.example.net' }]);
        const t2 = await query(port, { name: 'example.net', type: 'TXT' });
        expect(answersOf(t2).map(txt)).toEqual(['v=spf1 -all']);
      });

      it('class CH (other than id.server / hostname.bind TXT), HS and ANY are REFUSED', async () => {
        for (const [name, type, qclass] of [
          ['version.bind', 'TXT', 'CH'],
          ['id.server', 'A', 'CH'],
          ['www.example.net', 'A', 'CH'],
          ['www.example.net', 'A', 'HS'],
          ['www.example.net', 'A', 'ANY'],
          ['id.server', 'TXT', 'HS'],
        ]) {
          const r = await query(port, { name, type, qclass });
          expect(r.rcode, `${name} ${type} ${qclass}`).toBe(REFUSED);
          expect(answersOf(r)).toEqual([]);
        }
      });

      it('CHAOS TXT id.server and hostname.bind return the identity', async () => {
        for (const name of ['id.server', 'hostname.bind', 'ID.Server']) {
          const r = await query(port, { name, type: 'TXT', qclass: 'CH' });
          expect(r.rcode, name).toBe(NOERROR);
          const ans = answersOf(r);
          expect(ans).toHaveLength(1);
          expect(ans[0].class).toBe('CH');
          expect(ans[0].name).toBe(name);
          expect(txt(ans[0])).toBe('test-instance');
        }
      });

      it('AXFR and IXFR are REFUSED', async () => {
        for (const type of ['AXFR', 'IXFR']) {
          const r = await query(port, { name: 'example.net', type });
          expect(r.rcode, type).toBe(REFUSED);
          expect(answersOf(r)).toEqual([]);
        }
      });

      it('qdcount 0 and 2 are FORMERR', async () => {
        const none = dnsPacket.encode({ type: 'query', id: 11, questions: [] });
        const two = dnsPacket.encode({
          type: 'query',
          id: 12,
          questions: [
            { name: 'www.example.net', type: 'A', class: 'IN' },
            { name: 'mail.example.net', type: 'A', class: 'IN' },
          ],
        });
        for (const [msg, id] of [
          [none, 11],
          [two, 12],
        ] as const) {
          const raw = transportName === 'udp' ? await udpRaw(port, msg) : (await tcpExchange(port, [msg]))[0];
          expect(raw).toBeTruthy();
          const r = decodeReply(raw!);
          expect(r.packet.id).toBe(id);
          expect(r.flags.qr).toBe(true);
          expect(r.rcode).toBe(FORMERR);
          expect(answersOf(r)).toEqual([]);
        }
      });

      it('opcodes NOTIFY and UPDATE get NOTIMP with the opcode echoed', async () => {
        for (const opcode of [4, 5, 1, 2]) {
          const r = await query(port, { name: 'example.net', type: 'SOA', flags: opcode << 11, id: 100 + opcode });
          expect(r.rcode, `opcode ${opcode}`).toBe(NOTIMP);
          expect(r.packet.id).toBe(100 + opcode);
          expect((r.raw.readUInt16BE(2) >> 11) & 0xf).toBe(opcode);
          expect(answersOf(r)).toEqual([]);
        }
      });

      it('EDNS: an OPT comes back iff the query had one, with our UDP size 1232', async () => {
        const plain = await query(port, { name: 'www.example.net' });
        expect(plain.opt).toBeNull();
        for (const udpSize of [512, 1232, 4096, 65535]) {
          const r = await query(port, { name: 'www.example.net', udpSize });
          expect(r.opt, `bufsize ${udpSize}`).not.toBeNull();
          expect(r.opt!.udpSize).toBe(1232);
          expect(r.opt!.version).toBe(0);
          expect(addresses(r)).toEqual(['198.51.100.10']);
        }
        for (const name of ['nope.example.net', 'example.com']) {
          const r = await query(port, { name, edns: true });
          expect(r.opt, name).not.toBeNull();
        }
      });

      it('EDNS: an OPT comes back on a NOTIMP reply to a query that had one (RFC 6891 section 7)', async () => {
        for (const opcode of [4, 5]) {
          const r = await query(port, {
            name: 'example.net',
            type: 'SOA',
            flags: opcode << 11,
            edns: true,
            id: 200 + opcode,
          });
          expect(r.rcode).toBe(NOTIMP);
          expect(r.packet.id).toBe(200 + opcode);
          expect(r.opt, `opcode ${opcode} with OPT`).not.toBeNull();
          expect(r.opt?.udpSize).toBe(1232);
        }
      });

      it('EDNS: an OPT comes back on the FORMERR reply to a qdcount-0 query that had one (RFC 6891 section 7, RFC 7873 5.4)', async () => {
        const msg = dnsPacket.encode({
          type: 'query',
          id: 4711,
          questions: [],
          additionals: [
            { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer,
          ],
        });
        const raw = transportName === 'udp' ? await udpRaw(port, msg) : (await tcpExchange(port, [msg]))[0];
        expect(raw).toBeTruthy();
        const r = decodeReply(raw!);
        expect(r.packet.id).toBe(4711);
        expect(r.rcode).toBe(FORMERR);
        expect(r.opt).not.toBeNull();
      });

      it('EDNS: an OPT comes back on REFUSED (AXFR) and on FORMERR for a bad ECS, without the ECS echo', async () => {
        const axfr = await query(port, { name: 'example.net', type: 'AXFR', edns: true });
        expect(axfr.rcode).toBe(REFUSED);
        expect(axfr.opt).not.toBeNull();
        const badEcs = await query(port, {
          name: 'www.example.net',
          options: [{ code: 8, data: Buffer.from([0, 3, 24, 0, 1, 2, 3]) }],
        });
        expect(badEcs.rcode).toBe(FORMERR);
        expect(badEcs.opt).not.toBeNull();
        expect(badEcs.ecs).toBeNull();
        expect(answersOf(badEcs)).toEqual([]);
      });

      it('EDNS version 1 gets BADVERS (extended rcode 16) with an OPT of version 0 and no answer', async () => {
        const r = await query(port, { name: 'www.example.net', ednsVersion: 1 });
        expect(r.rcode).toBe(BADVERS);
        expect(r.raw.readUInt16BE(2) & 0xf).toBe(0);
        expect(r.opt).not.toBeNull();
        expect(r.opt!.extendedRcode).toBe(1);
        expect(r.opt!.version).toBe(0);
        expect(answersOf(r)).toEqual([]);
      });

      it('NSID returns the identity only when requested', async () => {
        const asked = await query(port, { name: 'www.example.net', nsid: true });
        expect(asked.nsid).toBe('test-instance');
        expect(addresses(asked)).toEqual(['198.51.100.10']);
        const notAsked = await query(port, { name: 'www.example.net', edns: true });
        expect(notAsked.nsid).toBeNull();
        const nx = await query(port, { name: 'nope.example.net', nsid: true });
        expect(nx.nsid).toBe('test-instance');
      });

      it('unknown EDNS options are ignored', async () => {
        const r = await query(port, {
          name: 'www.example.net',
          options: [
            { code: 65001, data: Buffer.from('private') },
            { code: 12, data: Buffer.alloc(16) },
          ],
        });
        expect(r.rcode).toBe(NOERROR);
        expect(addresses(r)).toEqual(['198.51.100.10']);
        const opts = (
          (r.packet.additionals ?? []).find((a) => a.type === 'OPT') as unknown as { options: Array<{ code: number }> }
        ).options;
        expect(opts.map((o) => o.code)).toEqual([]);
      });

      it('the DO bit is copied', async () => {
        const withDo = await query(port, { name: 'www.example.net', edns: true, dnssecOk: true });
        expect(withDo.opt!.flags & 0x8000).toBe(0x8000);
        const without = await query(port, { name: 'www.example.net', edns: true });
        expect(without.opt!.flags & 0x8000).toBe(0);
      });

      it('RD and CD are copied, RA is not set', async () => {
        const r = await query(port, { name: 'www.example.net', flags: 0x0100 | 0x0010 });
        expect(r.flags.rd).toBe(true);
        expect(r.raw.readUInt16BE(2) & 0x0010).toBe(0x0010);
        expect(r.raw.readUInt16BE(2) & 0x0080).toBe(0);
        const plain = await query(port, { name: 'www.example.net' });
        expect(plain.flags.rd).toBe(false);
      });
    });

    describe('UDP only', () => {
      it('a packet with QR=1 gets no reply', async () => {
        const msg = withQr(buildQuery({ name: 'www.example.net' }));
        expect(await udpRaw(port, msg)).toBeNull();
        // The server is still answering.
        expect(addresses(await udpQuery(port, { name: 'www.example.net' }))).toEqual(['198.51.100.10']);
      });

      it('without EDNS an answer larger than 512 bytes is truncated (TC=1) and fits 512', async () => {
        const r = await udpQuery(port, { name: 'big.example.net', type: 'TXT' });
        expect(r.flags.tc).toBe(true);
        expect(r.raw.length).toBeLessThanOrEqual(512);
        expect(r.opt).toBeNull();
        expect(r.packet.questions?.[0].name).toBe('big.example.net');
      });

      it('with EDNS bufsize 512 the limit is 512 too', async () => {
        const r = await udpQuery(port, { name: 'big.example.net', type: 'TXT', udpSize: 512 });
        expect(r.flags.tc).toBe(true);
        expect(r.raw.length).toBeLessThanOrEqual(512);
      });

      it('an EDNS bufsize below 512 is treated as 512 (RFC 6891 6.2.5)', async () => {
        const small = await udpQuery(port, { name: 'chain.example.net', udpSize: 100 });
        expect(small.flags.tc).toBe(false);
        expect(addresses(small)).toEqual(['198.51.100.10']);
        expect(small.raw.length).toBeGreaterThan(100); // bigger than the client asked for, within 512
        const big = await udpQuery(port, { name: 'big.example.net', type: 'TXT', udpSize: 100 });
        expect(big.flags.tc).toBe(true);
        expect(big.raw.length).toBeLessThanOrEqual(512);
      });

      it('with EDNS bufsize 4096 it still truncates at the server maximum of 1232', async () => {
        const r = await udpQuery(port, { name: 'big.example.net', type: 'TXT', udpSize: 4096 });
        expect(r.flags.tc).toBe(true);
        expect(r.raw.length).toBeLessThanOrEqual(1232);
        expect(r.opt?.udpSize).toBe(1232);
      });

      it('a name whose answer is under 512 bytes is not truncated', async () => {
        for (const name of ['www.example.net', 'example.net']) {
          const r = await udpQuery(port, { name, type: 'TXT' });
          expect(r.flags.tc).toBe(false);
        }
        const ns = await udpQuery(port, { name: 'sub.example.net', type: 'A' });
        expect(ns.flags.tc).toBe(false);
        expect(additionalOf(ns)).toHaveLength(1);
      });
    });

    describe('TCP only', () => {
      it('the big TXT answer comes whole over TCP', async () => {
        const r = await tcpQuery(port, { name: 'big.example.net', type: 'TXT' });
        expect(r.flags.tc).toBe(false);
        expect(r.rcode).toBe(NOERROR);
        const strings = answersOf(r).map(txt).sort();
        expect(strings).toHaveLength(12);
        strings.forEach((s, i) => expect(s).toBe(`${String(i).padStart(2, '0')}-${'x'.repeat(200)}`));
        expect(r.raw.length).toBeGreaterThan(1232);
      });

      it('a QR=1 packet gets no reply; the next query on the connection does', async () => {
        const bad = withQr(buildQuery({ name: 'www.example.net', id: 1 }));
        const good = buildQuery({ name: 'www.example.net', id: 2 });
        const replies = await tcpExchange(port, [bad, good], { oneWrite: true, expect: 1 });
        expect(replies).toHaveLength(1);
        expect(replies[0].readUInt16BE(0)).toBe(2);
      });
    });

    describe('Node c-ares resolver as an independent client', () => {
      let resolver: dnsPromises.Resolver;
      beforeAll(() => {
        resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 2 });
        resolver.setServers([`127.0.0.1:${port}`]);
      });

      it('resolve4 / resolve6', async () => {
        expect(await resolver.resolve4('www.example.net')).toEqual(['198.51.100.10']);
        expect(await resolver.resolve6('www.example.net')).toEqual(['2001:db8:100::10']);
        expect(await resolver.resolve4('alias.example.net')).toEqual(['198.51.100.10']);
        expect(await resolver.resolve4('anything.wild.example.net')).toEqual(['198.51.100.99']);
      });

      it('resolveMx / resolveTxt / resolveSrv / resolveCname', async () => {
        expect(await resolver.resolveMx('example.net')).toEqual([{ exchange: 'mail.example.net', priority: 10 }]);
        expect(await resolver.resolveTxt('example.net')).toEqual([['v=spf1 -all']]);
        expect(await resolver.resolveSrv('_sip._tcp.example.net')).toEqual([
          { name: 'sip.example.net', port: 5060, priority: 10, weight: 5 },
        ]);
        expect(await resolver.resolveCname('alias.example.net')).toEqual(['www.example.net']);
      });

      it('resolveTxt of the big record falls back to TCP and gets all 12 strings', async () => {
        const got = await resolver.resolveTxt('big.example.net');
        expect(got).toHaveLength(12);
        expect(got.map((s) => s.join('').slice(0, 3)).sort()).toEqual(
          Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}-`),
        );
      });

      it('NXDOMAIN is ENOTFOUND, NODATA is ENODATA', async () => {
        await expect(resolver.resolve4('nope.example.net')).rejects.toMatchObject({ code: 'ENOTFOUND' });
        await expect(resolver.resolve4('dangling.example.net')).rejects.toMatchObject({ code: 'ENOTFOUND' });
        await expect(resolver.resolve6('mail.example.net')).rejects.toMatchObject({ code: 'ENODATA' });
        await expect(resolver.resolve4('b.c.example.net')).rejects.toMatchObject({ code: 'ENODATA' });
        await expect(resolver.resolveMx('foo.wild.example.net')).rejects.toMatchObject({ code: 'ENODATA' });
      });

      it('names outside the zone are refused', async () => {
        await expect(resolver.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
      });
    });
  });
}
