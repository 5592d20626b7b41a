/**
 * UDP listener: one datagram in, at most one datagram out. The message
 * handler is synchronous; a failed send is counted, never thrown.
 */
import dgram from 'node:dgram';
import { ListenError } from '../errors.js';
import { MAX_MESSAGE } from '../wire/constants.js';

/**
 * Answer one message from `client` (the socket's address string) into `out`
 * at `outOffset`; returns the answer's length, 0 to send nothing. `out` is
 * the listener's own buffer, reused for the next message.
 */
export type PacketHandler = (msg: Buffer, len: number, client: string, out: Buffer, outOffset: number) => number;

/** What a UDP listener counts (the data plane sums its listeners at scrape time); never logged per packet. */
export interface UdpCounters {
  /** Answers the kernel refused to send (e.g. the client's buffer was full), or a socket error after bind. */
  sendErrors: number;
  /** Datagrams whose handler threw outside its own guard (dropped). */
  handlerErrors: number;
  /** Datagrams larger than a batched slot (4 KiB; no DNS query is): dropped. */
  oversized: number;
}

export interface UdpListener {
  /** The dgram socket, or null for a batched (native) listener. */
  socket: dgram.Socket | null;
  port: number;
  address: string;
  counters(): UdpCounters;
  close(): Promise<void>;
}

/** Bind a UDP socket on host:port (port 0 = any) and answer with `handler`. */
export function listenUdp(host: string, port: number, handler: PacketHandler): Promise<UdpListener> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  // The listener's output buffer: each answer is written here, then copied into the buffer
  // handed to send() (the socket may still hold that one when the next datagram arrives).
  const out = Buffer.allocUnsafe(MAX_MESSAGE);
  const counters: UdpCounters = { sendErrors: 0, handlerErrors: 0, oversized: 0 };
  const onSent = (err: Error | null) => {
    if (err) counters.sendErrors++;
  };
  socket.on('message', (msg, rinfo) => {
    // Guarded like the batched path: an escaping error costs this datagram, not the process.
    try {
      const n = handler(msg, msg.length, rinfo.address, out, 0);
      if (n > 0) {
        const datagram = Buffer.allocUnsafe(n);
        out.copy(datagram, 0, 0, n);
        socket.send(datagram, rinfo.port, rinfo.address, onSent);
      }
    } catch {
      counters.handlerErrors++;
    }
  });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(new ListenError(`udp ${host}:${port}`, err));
    socket.once('error', fail);
    socket.bind(port, host, () => {
      socket.off('error', fail);
      socket.on('error', () => {
        counters.sendErrors++; // a socket error after bind (ICMP-induced etc.) must not kill the process
      });
      try {
        socket.setRecvBufferSize(4 * 1024 * 1024); // absorb bursts (GC pauses, snapshot swaps)
      } catch {
        /* the kernel cap (net.core.rmem_max) applies; not fatal */
      }
      const addr = socket.address();
      resolve({
        socket,
        port: addr.port,
        address: addr.address,
        counters: () => ({ ...counters }),
        close: () => new Promise((r) => socket.close(() => r())),
      });
    });
  });
}
