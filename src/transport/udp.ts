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

export interface UdpListener {
  /** The dgram socket, or null for a batched (native) listener. */
  socket: dgram.Socket | null;
  port: number;
  address: string;
  close(): Promise<void>;
}

let sendErrors = 0;
let handlerErrors = 0;
/** Datagrams whose handler threw outside its own guard (dropped). */
export function udpHandlerErrors(): number {
  return handlerErrors;
}
/** UDP sends that failed (e.g. the client's buffer was full): counted, not logged per packet. */
export function udpSendErrors(): number {
  return sendErrors;
}
function onSent(err: Error | null): void {
  if (err) sendErrors++;
}

/** Bind a UDP socket on host:port (port 0 = any) and answer with `handler`. */
export function listenUdp(host: string, port: number, handler: PacketHandler): Promise<UdpListener> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  // The listener's output buffer: each answer is written here, then copied into the buffer
  // handed to send() (the socket may still hold that one when the next datagram arrives).
  const out = Buffer.allocUnsafe(MAX_MESSAGE);
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
      handlerErrors++;
    }
  });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(new ListenError(`udp ${host}:${port}`, err));
    socket.once('error', fail);
    socket.bind(port, host, () => {
      socket.off('error', fail);
      socket.on('error', () => {
        sendErrors++; // a socket error after bind (ICMP-induced etc.) must not kill the process
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
        close: () => new Promise((r) => socket.close(() => r())),
      });
    });
  });
}
