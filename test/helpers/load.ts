/**
 * A UDP load generator for reload and admin tests: a few sockets, one query
 * every few milliseconds each, unique IDs per socket, no retries, so every
 * lost or duplicated answer shows.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { buildQuery } from './dns.js';

/** A UDP load generator: `sockets` sockets, one query every `everyMs` each, unique IDs per socket, no retries. */
export class Load {
  sent = 0;
  answered = 0;
  readonly bad: string[] = [];
  readonly seen = new Map<string, number>();
  private readonly socks: dgram.Socket[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending: Array<Set<number>> = [];

  constructor(
    private readonly port: number,
    sockets = 4,
    private readonly everyMs = 10,
    private readonly query: { name: string; ecs?: string } = { name: 'www.example.net' },
  ) {
    for (let i = 0; i < sockets; i++) {
      const sock = dgram.createSocket('udp4');
      const pending = new Set<number>();
      this.pending.push(pending);
      sock.on('message', (msg) => this.onReply(pending, msg));
      this.socks.push(sock);
    }
  }

  private onReply(pending: Set<number>, msg: Buffer): void {
    const id = msg.readUInt16BE(0);
    if (!pending.delete(id)) {
      this.bad.push(`unexpected or duplicate reply id ${id}`);
      return;
    }
    this.answered++;
    const reply = dnsPacket.decode(msg);
    const rcode = msg[3] & 0xf;
    const addrs = (reply.answers ?? []).filter((a) => a.type === 'A').map((a) => String((a as { data: unknown }).data));
    const key = `${rcode} ${addrs.join(',')}`;
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
  }

  start(): void {
    this.socks.forEach((sock, i) => {
      let next = 1;
      const pending = this.pending[i];
      this.timers.push(
        setInterval(() => {
          const id = next++;
          if (id > 0xffff) throw new Error('ran out of unique query IDs');
          pending.add(id);
          this.sent++;
          sock.send(buildQuery({ ...this.query, type: 'A', id }), this.port, '127.0.0.1');
        }, this.everyMs),
      );
    });
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  close(): void {
    this.stop();
    for (const s of this.socks) s.close();
  }
}
