/**
 * DNS over TCP on a real server (RFC 7766): pipelining, arbitrary segmenting,
 * idle timeout (reset only by complete queries), connection cap (a newcomer
 * takes the slot of the longest idle connection), frame limits, caps per
 * source address and network (clients bound to addresses in different /24s
 * of 127.0.0.0/8), lifetime, the shorter idle timeout under pressure,
 * back-pressure on clients that do not read, and the IPv6 loopback listener.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../helpers/configs.js';
import { addresses, buildQuery, decodeReply, tcpExchange, tcpQuery, udpQuery, until } from '../../helpers/dns.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { metric, scrape } from '../ops/admin-http.js';

const TCP_LINE = 'tcp: { idle_timeout: 2s, max_connections: 16 }';

function configWithTcp(tcp: string): string {
  const text = testConfig();
  if (!text.includes(TCP_LINE)) throw new Error('testConfig() no longer has the expected tcp line');
  return text.replace(TCP_LINE, `tcp: { ${tcp} }`);
}

function frameMsg(msg: Buffer): Buffer {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(msg.length, 0);
  return Buffer.concat([h, msg]);
}

/** A client connection that records every framed reply and whether/when the server closed it. */
class Client {
  readonly replies: Buffer[] = [];
  closed = false;
  bytesReceived = 0;
  private buf = Buffer.alloc(0);

  private constructor(readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.bytesReceived += d.length;
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const len = this.buf.readUInt16BE(0);
        this.replies.push(this.buf.subarray(2, 2 + len));
        this.buf = this.buf.subarray(2 + len);
      }
    });
    sock.on('error', () => undefined); // a reset from the server shows up as 'close'
    sock.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host, localAddress });
      const c = new Client(sock);
      sock.once('connect', () => resolve(c));
      sock.once('error', reject);
    });
  }

  /** Write and wait until the bytes are handed to the kernel, then let the event loop turn once. */
  async write(bytes: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.sock.write(bytes, (err) => (err ? reject(err) : resolve())));
    await new Promise((r) => setImmediate(r));
  }

  async waitReplies(n: number, what = `${n} replies`, timeoutMs = 5000): Promise<Buffer[]> {
    await until(() => this.replies.length >= n, what, timeoutMs, 10);
    return this.replies;
  }

  async waitClosed(what: string, timeoutMs = 10_000): Promise<void> {
    await until(() => this.closed, what, timeoutMs, 25);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

const idOf = (raw: Buffer) => raw.readUInt16BE(0);

describe('TCP on the test config (idle 2s, max 16 connections)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(testConfig());
  });
  afterAll(() => t.close());

  it('answers pipelined queries sent in one write, in order, with matching IDs', async () => {
    const names = [
      'www.example.net',
      'nope.example.net',
      'big.example.net',
      'mail.example.net',
      'alias.example.net',
      'example.com',
      'sub.example.net',
      'caa.example.net',
    ];
    const types = ['A', 'A', 'TXT', 'A', 'A', 'A', 'A', 'CAA'];
    const queries = names.map((name, i) => buildQuery({ name, type: types[i], id: 1000 + i }));
    const replies = await tcpExchange(t.port, queries, { oneWrite: true });
    expect(replies.map(idOf)).toEqual(names.map((_, i) => 1000 + i));
    const decoded = replies.map(decodeReply);
    expect(decoded.map((r) => r.packet.questions?.[0].name)).toEqual(names);
    expect(decoded.map((r) => r.rcode)).toEqual([0, 3, 0, 0, 0, 5, 0, 0]);
    expect(addresses(decoded[0])).toEqual(['198.51.100.10']);
    expect(decoded[2].packet.answers).toHaveLength(12);
  });

  it('answers 300 pipelined queries in one write, in order', async () => {
    const queries = Array.from({ length: 300 }, (_, i) =>
      buildQuery({ name: i % 2 ? 'www.example.net' : `n${i}.example.net`, id: i + 1 }),
    );
    const replies = await tcpExchange(t.port, queries, { oneWrite: true, timeoutMs: 10_000 });
    expect(replies.map(idOf)).toEqual(queries.map((_, i) => i + 1));
  });

  it('answers a query written one byte at a time, then keeps the connection open for more', async () => {
    const c = await Client.connect(t.port);
    try {
      const bytes = frameMsg(buildQuery({ name: 'www.example.net', id: 0x5151, nsid: true }));
      for (const b of bytes) await c.write(Buffer.from([b]));
      const [raw] = await c.waitReplies(1, 'the byte-by-byte answer');
      const r = decodeReply(raw);
      expect(idOf(raw)).toBe(0x5151);
      expect(addresses(r)).toEqual(['198.51.100.10']);
      expect(r.nsid).toBe('test-instance');
      await c.write(frameMsg(buildQuery({ name: 'mail.example.net', id: 0x5152 })));
      const replies = await c.waitReplies(2, 'the second answer');
      expect(idOf(replies[1])).toBe(0x5152);
      expect(addresses(decodeReply(replies[1]))).toEqual(['198.51.100.25']);
      expect(c.closed).toBe(false);
    } finally {
      c.destroy();
    }
  });

  it('answers when the length prefix is split across writes', async () => {
    const c = await Client.connect(t.port);
    try {
      const bytes = frameMsg(buildQuery({ name: 'www.example.net', type: 'AAAA', id: 77 }));
      await c.write(bytes.subarray(0, 1));
      await c.write(bytes.subarray(1, 2));
      await c.write(bytes.subarray(2));
      const [raw] = await c.waitReplies(1);
      expect(idOf(raw)).toBe(77);
      expect(addresses(decodeReply(raw))).toEqual(['2001:db8:100::10']);
    } finally {
      c.destroy();
    }
  });

  it('answers messages whose boundaries fall anywhere in the writes', async () => {
    const c = await Client.connect(t.port);
    try {
      const stream = Buffer.concat([1, 2, 3, 4].map((id) => frameMsg(buildQuery({ name: 'www.example.net', id }))));
      // Cuts: inside the first length prefix, mid-message, right after a message, inside the last prefix.
      const cuts = [1, 20, stream.length / 2, stream.length / 2 + 1, stream.length - 1];
      let prev = 0;
      for (const cut of [...cuts, stream.length]) {
        await c.write(stream.subarray(prev, cut));
        prev = cut;
      }
      const replies = await c.waitReplies(4);
      expect(replies.map(idOf)).toEqual([1, 2, 3, 4]);
    } finally {
      c.destroy();
    }
  });

  it('answers a query sent before the client half-closes its side', async () => {
    const c = await Client.connect(t.port);
    try {
      c.sock.end(frameMsg(buildQuery({ name: 'www.example.net', id: 31337 })));
      const [raw] = await c.waitReplies(1, 'the answer after FIN');
      expect(idOf(raw)).toBe(31337);
    } finally {
      c.destroy();
    }
  });

  it('closes an idle connection after the idle timeout', async () => {
    const c = await Client.connect(t.port);
    try {
      await c.waitClosed('the server to close an idle connection');
      expect(c.replies).toEqual([]);
    } finally {
      c.destroy();
    }
  });

  it('closes a connection that went idle after answering a query', async () => {
    const c = await Client.connect(t.port);
    try {
      await c.write(frameMsg(buildQuery({ name: 'www.example.net', id: 9 })));
      await c.waitReplies(1);
      await c.waitClosed('the server to close the connection once idle');
      expect(c.replies).toHaveLength(1);
    } finally {
      c.destroy();
    }
  });

  it('closes a connection that sends one byte every 500 ms without completing a query', async () => {
    const c = await Client.connect(t.port);
    const query = buildQuery({ name: 'www.example.net', id: 10, options: [{ code: 12, data: Buffer.alloc(200) }] });
    const bytes = frameMsg(query); // 200+ bytes at 2 per second: never complete within the test
    let sent = 0;
    const timer = setInterval(() => {
      if (!c.closed && sent < bytes.length) c.sock.write(bytes.subarray(sent, ++sent));
    }, 500);
    try {
      await c.waitClosed('the server to close a byte-dripping connection', 15_000);
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(bytes.length);
      expect(c.replies).toEqual([]);
    } finally {
      clearInterval(timer);
      c.destroy();
    }
  });

  it('keeps a connection open while complete queries keep arriving (every 500 ms, past the idle timeout)', async () => {
    const c = await Client.connect(t.port);
    let sent = 0;
    // 7 queries, 500 ms apart: 3 s in all, longer than the 2 s idle timeout.
    const timer = setInterval(() => {
      if (!c.closed && sent < 7) c.sock.write(frameMsg(buildQuery({ name: 'www.example.net', id: ++sent })));
    }, 500);
    try {
      await c.waitReplies(7, '7 paced answers', 15_000);
      expect(c.closed).toBe(false);
      expect(c.replies.map(idOf)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    } finally {
      clearInterval(timer);
      c.destroy();
    }
  });

  it('closes the connection on a zero-length frame', async () => {
    const c = await Client.connect(t.port);
    try {
      await c.write(frameMsg(buildQuery({ name: 'www.example.net', id: 21 })));
      await c.waitReplies(1);
      await c.write(Buffer.from([0, 0]));
      await c.waitClosed('the server to close after a zero-length frame', 1500);
      expect(c.replies.map(idOf)).toEqual([21]);
    } finally {
      c.destroy();
    }
  });
});

describe('TCP limits', () => {
  it('max_connections 16: a 17th client takes the slot of the connection idle the longest; the others keep being answered', async () => {
    const t = await startServer(configWithTcp('idle_timeout: 60s, max_connections: 16'));
    const clients: Client[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const c = await Client.connect(t.port);
        clients.push(c);
        await c.write(frameMsg(buildQuery({ name: 'www.example.net', id: i })));
        await c.waitReplies(1, `first answer on connection ${i}`);
      }
      expect(t.server.tcpStats.open).toBe(16);
      expect(t.server.tcpStats.rejected).toBe(0);
      // Connection 0 asked first: it has been idle the longest.
      const extra = await Client.connect(t.port);
      clients.push(extra);
      await extra.write(frameMsg(buildQuery({ name: 'www.example.net', id: 999 })));
      const [raw] = await extra.waitReplies(1, 'the answer on the 17th connection');
      expect(idOf(raw)).toBe(999);
      await clients[0].waitClosed('the server to close the connection idle the longest', 5000);
      expect(t.server.tcpStats.closed.evicted).toBe(1);
      expect(t.server.tcpStats.rejected).toBe(0);
      expect(t.server.tcpStats.open).toBe(16);
      for (let i = 1; i < 16; i++) {
        const c = clients[i];
        await c.write(frameMsg(buildQuery({ name: 'mail.example.net', id: 100 + i })));
        const replies = await c.waitReplies(2, `second answer on connection ${i}`);
        expect(idOf(replies[1])).toBe(100 + i);
        expect(c.closed).toBe(false);
      }
      expect(t.server.tcpStats.closed.evicted).toBe(1);
    } finally {
      for (const c of clients) c.destroy();
      await t.close();
    }
  });

  it('max_connections: several clients arriving at once each take the slot of one of the longest idle, all counted', async () => {
    const t = await startServer(configWithTcp('idle_timeout: 60s, max_connections: 16'));
    const clients: Client[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const c = await Client.connect(t.port);
        clients.push(c);
        await c.write(frameMsg(buildQuery({ name: 'www.example.net', id: i })));
        await c.waitReplies(1, `first answer on connection ${i}`);
      }
      const extras = await Promise.all([0, 1, 2, 3, 4].map(() => Client.connect(t.port)));
      clients.push(...extras);
      for (const [i, e] of extras.entries()) {
        await e.write(frameMsg(buildQuery({ name: 'www.example.net', id: 500 + i })));
        await e.waitReplies(1, `the answer on extra connection ${i}`);
      }
      for (let i = 0; i < 5; i++) await clients[i].waitClosed(`the server to close idle connection ${i}`, 5000);
      expect(clients.slice(5, 16).every((c) => !c.closed)).toBe(true);
      expect(t.server.tcpStats.closed.evicted).toBe(5);
      expect(t.server.tcpStats.open).toBe(16);
    } finally {
      for (const c of clients) c.destroy();
      await t.close();
    }
  });

  it('max_message_size: an over-size frame closes the connection; a frame of exactly the limit is answered', async () => {
    const t = await startServer(configWithTcp('idle_timeout: 60s, max_connections: 16, max_message_size: 512'));
    try {
      // A valid query padded (EDNS PADDING, RFC 7830) to exactly 512 bytes.
      const base = buildQuery({ name: 'www.example.net', id: 1, options: [{ code: 12, data: Buffer.alloc(0) }] });
      const exact = buildQuery({
        name: 'www.example.net',
        id: 1,
        options: [{ code: 12, data: Buffer.alloc(512 - base.length) }],
      });
      expect(exact.length).toBe(512);
      const ok = await Client.connect(t.port);
      try {
        await ok.write(frameMsg(exact));
        const [raw] = await ok.waitReplies(1, 'the answer to a 512-byte query');
        expect(addresses(decodeReply(raw))).toEqual(['198.51.100.10']);
      } finally {
        ok.destroy();
      }

      const over = buildQuery({
        name: 'www.example.net',
        id: 2,
        options: [{ code: 12, data: Buffer.alloc(513 - base.length) }],
      });
      expect(over.length).toBe(513);
      const c = await Client.connect(t.port);
      try {
        await c.write(frameMsg(buildQuery({ name: 'www.example.net', id: 3 })));
        await c.waitReplies(1);
        await c.write(frameMsg(over));
        await c.waitClosed('the server to close after an over-size frame', 1500);
        expect(c.replies.map(idOf)).toEqual([3]);
      } finally {
        c.destroy();
      }

      // Only the length prefix of a huge frame: closed at once, without waiting for the body.
      const d = await Client.connect(t.port);
      try {
        await d.write(Buffer.from([0xff, 0xff]));
        await d.waitClosed('the server to close on an over-size length prefix', 1500);
      } finally {
        d.destroy();
      }
    } finally {
      await t.close();
    }
  });

  it('max_queries_per_connection: the connection is closed after the last allowed answer', async () => {
    const t = await startServer(configWithTcp('idle_timeout: 60s, max_connections: 16, max_queries_per_connection: 3'));
    try {
      const queries = [1, 2, 3, 4, 5].map((id) => buildQuery({ name: 'www.example.net', id }));
      const replies = await tcpExchange(t.port, queries, { oneWrite: true, expect: 5, timeoutMs: 5000 });
      expect(replies.map(idOf)).toEqual([1, 2, 3]);
    } finally {
      await t.close();
    }
  });
});

describe('TCP limits per source', () => {
  const query = (id: number) => frameMsg(buildQuery({ name: 'www.example.net', id }));

  /** Open `n` connections from `local`; those the server refuses come back closed. */
  async function open(t: TestServer, n: number, local: string): Promise<Client[]> {
    const out: Client[] = [];
    for (let i = 0; i < n; i++) out.push(await Client.connect(t.port, '127.0.0.1', local));
    return out;
  }

  async function served(t: TestServer, local: string, id: number): Promise<void> {
    const c = await Client.connect(t.port, '127.0.0.1', local);
    try {
      await c.write(query(id));
      const [raw] = await c.waitReplies(1, `an answer for ${local}`);
      expect(idOf(raw)).toBe(id);
    } finally {
      c.destroy();
    }
  }

  it('one address holds at most max_connections_per_address, one /24 at most max_connections_per_prefix; others are served', async () => {
    const t = await startServer(
      configWithTcp(
        'idle_timeout: 60s, max_connections: 64, max_connections_per_address: 4, max_connections_per_prefix: 6',
      ),
    );
    const clients: Client[] = [];
    try {
      clients.push(...(await open(t, 6, '127.0.20.1')));
      await until(() => clients.slice(4).every((c) => c.closed), 'the 5th and 6th connections of one address closed');
      expect(clients.slice(0, 4).some((c) => c.closed)).toBe(false);
      clients.push(...(await open(t, 2, '127.0.20.2')));
      // 4 + 2 = 6 from 127.0.20.0/24: a third address in that /24 is refused, one in another /24 is not.
      const third = await Client.connect(t.port, '127.0.0.1', '127.0.20.3');
      clients.push(third);
      await third.waitClosed('the 7th connection from one /24 closed');
      await until(
        () => t.server.tcpStats.refused.per_address === 2 && t.server.tcpStats.refused.per_prefix === 1,
        'refusals counted by reason',
      );
      await served(t, '127.0.21.1', 42);
      await until(() => t.server.tcpStats.open === 6, 'the six held connections left open');
      const m = await scrape(t.server.adminPort!);
      expect(metric(m, 'meridian_tcp_connections_refused_total', { reason: 'per_address' })).toBe(2);
      expect(metric(m, 'meridian_tcp_connections_refused_total', { reason: 'per_prefix' })).toBe(1);
    } finally {
      for (const c of clients) c.destroy();
      await t.close();
    }
  });

  it('a second address is served while a first one holds every slot it can: idle, trickling, and querying every 2 s', async () => {
    // The whole table (12) is open to one address: only the eviction of the longest idle keeps TCP open to others.
    const t = await startServer(
      configWithTcp(
        'idle_timeout: 60s, max_connections: 12, max_connections_per_address: 100, max_connections_per_prefix: 100',
      ),
    );
    const clients: Client[] = [];
    const timers: NodeJS.Timeout[] = [];
    try {
      const holders = await open(t, 12, '127.0.22.1');
      clients.push(...holders);
      const trickle = frameMsg(
        buildQuery({ name: 'www.example.net', options: [{ code: 12, data: Buffer.alloc(300) }] }),
      );
      holders.forEach((c, i) => {
        if (i % 3 === 1) {
          let sent = 0; // one byte every 500 ms: never a complete query
          timers.push(setInterval(() => !c.closed && c.sock.write(trickle.subarray(sent, ++sent)), 500));
        } else if (i % 3 === 2) {
          let id = 0; // a complete query every 2 s
          void c.write(query(++id));
          timers.push(setInterval(() => !c.closed && c.sock.write(query(++id)), 2000));
        }
      });
      await until(
        () => holders.filter((c, i) => i % 3 === 2 && c.replies.length > 0).length === 4,
        'the busy holders answered',
      );
      expect(t.server.tcpStats.open).toBe(12);
      // Two other clients, one after the other: each is served in the slot of an idle or trickling holder.
      await served(t, '127.0.23.1', 7);
      await served(t, '127.0.23.2', 8);
      expect(t.server.tcpStats.closed.evicted).toBe(2);
      expect(t.server.tcpStats.rejected).toBe(0);
      // The holders that query were not the ones evicted.
      expect(holders.filter((c, i) => i % 3 === 2 && c.closed)).toEqual([]);
    } finally {
      for (const timer of timers) clearInterval(timer);
      for (const c of clients) c.destroy();
      await t.close();
    }
  });

  it('max_connection_lifetime ends a connection however often it queries', async () => {
    const t = await startServer(configWithTcp('idle_timeout: 60s, max_connections: 16, max_connection_lifetime: 1s'));
    const c = await Client.connect(t.port);
    let id = 0;
    const timer = setInterval(() => !c.closed && c.sock.write(query(++id)), 200);
    try {
      await c.waitClosed('the server to end the connection after its lifetime', 5000);
      expect(c.replies.length).toBeGreaterThanOrEqual(3);
      expect(t.server.tcpStats.closed.lifetime).toBe(1);
    } finally {
      clearInterval(timer);
      c.destroy();
      await t.close();
    }
  });

  it('under pressure (half the table in use) idle connections get the shorter timeout', async () => {
    const t = await startServer(
      configWithTcp(
        'idle_timeout: 60s, idle_timeout_under_pressure: 500ms, pressure_threshold: 50%, max_connections: 8',
      ),
    );
    const clients: Client[] = [];
    try {
      // Three of eight: no pressure, nothing is closed for a while.
      clients.push(...(await open(t, 3, '127.0.24.1')));
      await new Promise((r) => setTimeout(r, 1200)); // longer than the short timeout: it must not apply yet
      expect(clients.some((c) => c.closed)).toBe(false);
      // The fourth brings the table to half: the three idle for over 500 ms go; then the pressure is
      // off and the fourth, idle for less, keeps the long timeout.
      clients.push(...(await open(t, 1, '127.0.24.2')));
      for (const c of clients.slice(0, 3)) await c.waitClosed('an idle connection closed under pressure', 5000);
      expect(t.server.tcpStats.closed.idle_under_pressure).toBe(3);
      await new Promise((r) => setTimeout(r, 1200));
      expect(clients[3].closed).toBe(false);
    } finally {
      for (const c of clients) c.destroy();
      await t.close();
    }
  });

  it('a client that does not read its answers is not read either, and is closed as unread', async () => {
    const t = await startServer(
      configWithTcp('idle_timeout: 1s, max_connections: 16, max_queries_per_connection: 100000'),
    );
    const c = await Client.connect(t.port);
    try {
      c.sock.pause(); // never read: the kernel buffers fill, then the server's
      const big = frameMsg(buildQuery({ name: 'big.example.net', type: 'TXT', id: 1 }));
      // 20,000 queries for a 2.5 KB answer: 50 MB of answers, more than both kernels' buffers hold (36 MB here).
      const burst = Buffer.concat(Array.from({ length: 20_000 }, () => big));
      c.sock.write(burst);
      await until(() => t.server.tcpStats.closed.unread === 1, 'the server to close the unread connection', 10_000);
      // Another client is served meanwhile and after.
      const [raw] = await tcpExchange(t.port, [buildQuery({ name: 'www.example.net', id: 3 })]);
      expect(idOf(raw)).toBe(3);
    } finally {
      c.destroy();
      await t.close();
    }
  });
});

describe('TCP max_queries_per_connection with separate writes', () => {
  it('answers exactly the allowed number of queries sent one write at a time, then closes', async () => {
    const t = await startServer(configWithTcp('idle_timeout: 60s, max_connections: 16, max_queries_per_connection: 3'));
    const c = await Client.connect(t.port);
    try {
      for (let id = 1; id <= 3; id++) {
        await c.write(frameMsg(buildQuery({ name: 'www.example.net', id })));
        await c.waitReplies(id);
      }
      await c.waitClosed('the server to close after the third query', 5000);
      expect(c.replies.map(idOf)).toEqual([1, 2, 3]);
    } finally {
      c.destroy();
      await t.close();
    }
  });
});

describe('IPv6 loopback listener', () => {
  let t: TestServer;
  beforeAll(async () => {
    // This machine has ::1; fail loudly (no skip) if it ever does not.
    execFileSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'::1',()=>s.close())"], {
      timeout: 10_000,
    });
    t = await startServer(testConfig(), { listen: ['[::1]:0'] });
  });
  afterAll(() => t?.close());

  it('is bound to ::1', () => {
    expect(t.server.addresses).toEqual([{ host: '::1', port: t.port }]);
  });

  it('answers over UDP and TCP on [::1]', async () => {
    const u = await udpQuery(t.port, { name: 'www.example.net', type: 'AAAA' }, '::1');
    expect(addresses(u)).toEqual(['2001:db8:100::10']);
    expect(u.flags.aa).toBe(true);
    const tq = await tcpQuery(t.port, { name: 'www.example.net', type: 'A' }, '::1');
    expect(addresses(tq)).toEqual(['198.51.100.10']);
  });

  it('answers pipelined TCP queries on [::1]', async () => {
    const queries = [5, 6, 7].map((id) => buildQuery({ name: 'mail.example.net', id }));
    const replies = await tcpExchange(t.port, queries, { host: '::1', oneWrite: true });
    expect(replies.map(idOf)).toEqual([5, 6, 7]);
  });
});
