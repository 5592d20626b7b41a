/**
 * DNS clients bound to a chosen source address of 127.0.0.0/8 (127.0.5.1,
 * 127.0.6.1, ...: every one is local on Linux), so a test can play several
 * networks at once: a flooding source, a resolver in another /24, one in
 * the same /24. UDP replies are matched by ID; nothing is retried, so a
 * dropped answer shows as null.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { buildQuery, decodeReply, type QueryOptions, type Reply } from './dns.js';

export class SourcedUdp {
  private readonly waiting = new Map<number, (r: Buffer) => void>();
  private nextId = 1;

  private constructor(private readonly sock: dgram.Socket) {
    sock.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const done = this.waiting.get(id);
      if (done) {
        this.waiting.delete(id);
        done(msg);
      }
    });
  }

  static bind(address: string): Promise<SourcedUdp> {
    const sock = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, address, () => {
        sock.off('error', reject);
        // A flood's answers arrive in bursts: room for them in the socket buffer.
        sock.setRecvBufferSize(4 * 1024 * 1024);
        resolve(new SourcedUdp(sock));
      });
    });
  }

  /** Send a query (its ID is chosen here) to `port` on 127.0.0.1; the raw reply, or null after `timeoutMs`. */
  raw(port: number, o: QueryOptions, timeoutMs = 1500, host = '127.0.0.1'): Promise<Buffer | null> {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    return this.exchange(port, buildQuery({ ...o, id }), timeoutMs, host);
  }

  /** Send message bytes as they are; the reply with the same ID, or null after `timeoutMs`. */
  exchange(port: number, msg: Buffer, timeoutMs = 1500, host = '127.0.0.1'): Promise<Buffer | null> {
    const id = msg.readUInt16BE(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.sock.send(msg, port, host);
    });
  }

  async query(port: number, o: QueryOptions, timeoutMs?: number): Promise<Reply | null> {
    const r = await this.raw(port, o, timeoutMs);
    return r === null ? null : decodeReply(r);
  }

  close(): void {
    this.sock.close();
  }
}

/** What a stream of queries got back. */
export interface StreamTally {
  sent: number;
  /** Complete answers (no TC). */
  full: number;
  /** Truncated (TC=1) answers with an empty answer section: RRL slips. */
  slipped: number;
  /** BADCOOKIE answers (a slip to a cookie client, or a cookie demand). */
  badcookie: number;
  /** No answer. */
  none: number;
  replies: Reply[];
  elapsedMs: number;
}

/**
 * Send `count` queries built by `make(i)` from `client`, `perTick` every `tickMs`
 * (paced, so loopback buffers do not overflow), and tally the answers.
 */
export async function stream(
  client: SourcedUdp,
  port: number,
  count: number,
  make: (i: number) => QueryOptions,
  opts: { perTick?: number; tickMs?: number; timeoutMs?: number } = {},
): Promise<StreamTally> {
  const perTick = opts.perTick ?? 1;
  const tickMs = opts.tickMs ?? 10;
  const t0 = Date.now();
  const pending: Array<Promise<Reply | null>> = [];
  for (let i = 0; i < count; i += perTick) {
    for (let j = i; j < Math.min(count, i + perTick); j++) pending.push(client.query(port, make(j), opts.timeoutMs));
    await new Promise((r) => setTimeout(r, tickMs));
  }
  const elapsedMs = Date.now() - t0;
  const replies = (await Promise.all(pending)).filter((r): r is Reply => r !== null);
  return {
    sent: count,
    full: replies.filter((r) => !r.flags.tc && r.rcode !== 23).length,
    slipped: replies.filter((r) => r.flags.tc && (r.packet.answers?.length ?? 0) === 0 && r.rcode === 0).length,
    badcookie: replies.filter((r) => r.rcode === 23).length,
    none: count - replies.length,
    replies,
    elapsedMs,
  };
}

/** A TCP connection from a chosen local address. */
export function connectFrom(port: number, localAddress: string, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, localAddress });
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}
