/**
 * DNS over TCP (RFC 7766): length-framed messages, several queries per
 * connection answered in order (pipelining), and limits so that slow or
 * half-open clients cannot hold resources: a cap on connections, an idle
 * timeout that only a complete query resets (a byte-at-a-time client does not
 * keep a connection alive), a cap on queries per connection and on message
 * size, and back-pressure (stop reading while the client does not read).
 */
import net from 'node:net';
import { ListenError } from '../errors.js';
import { MAX_MESSAGE } from '../wire/constants.js';
import { FrameSplitter, takeFrame } from './framing.js';
import type { PacketHandler } from './udp.js';

export interface TcpLimits {
  /** Seconds without a complete query before the connection is closed. */
  idleTimeout: number;
  maxConnections: number;
  maxMessageSize: number;
  maxQueriesPerConnection: number;
}

export interface TcpStats {
  open: number;
  accepted: number;
  rejected: number;
}

export interface TcpListener {
  server: net.Server;
  port: number;
  address: string;
  stats: TcpStats;
  /** Stop accepting, let open connections finish their queries, close them within `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

interface Conn {
  socket: net.Socket;
  splitter: FrameSplitter;
  lastQueryAt: number;
  queries: number;
}

/** On shutdown, how long a connection may stay silent before it is ended. */
const QUIET_MS = 250;

export function listenTcp(
  host: string,
  port: number,
  handler: PacketHandler,
  limits: TcpLimits,
  stats?: TcpStats,
): Promise<TcpListener> {
  const st: TcpStats = stats ?? { open: 0, accepted: 0, rejected: 0 };
  const conns = new Set<Conn>();
  let closing = false;
  // The listener's output buffer: answers are written at offset 2, behind their length (takeFrame copies them out).
  const out = Buffer.allocUnsafe(MAX_MESSAGE + 2);

  const server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    if (closing || conns.size >= limits.maxConnections) {
      st.rejected++;
      socket.destroy();
      return;
    }
    st.accepted++;
    st.open++;
    const conn: Conn = { socket, splitter: new FrameSplitter(), lastQueryAt: Date.now(), queries: 0 };
    conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      const ok = conn.splitter.push(chunk, limits.maxMessageSize, (msg) => {
        conn.lastQueryAt = Date.now();
        const n = handler(msg, msg.length, socket.remoteAddress ?? '', out, 2);
        // Back-pressure: a client that does not read its answers stops being read.
        if (n > 0 && !socket.write(takeFrame(out, n))) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
        if (++conn.queries >= limits.maxQueriesPerConnection || closing) {
          socket.end();
          return false;
        }
        return true;
      });
      if (!ok) socket.destroy(); // frame over the size limit or empty: not DNS, hang up
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      conns.delete(conn);
      st.open--;
    });
  });
  server.maxConnections = limits.maxConnections + 1; // our own check above counts rejections first

  // One sweep for all connections: close those without a complete query for idleTimeout.
  const idleMs = limits.idleTimeout * 1000;
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const c of conns) if (now - c.lastQueryAt > idleMs) c.socket.destroy();
    },
    Math.max(50, Math.min(1000, idleMs / 4)),
  );
  sweep.unref();

  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearInterval(sweep);
      reject(new ListenError(`tcp ${host}:${port}`, err));
    };
    server.once('error', fail);
    server.listen({ host, port, ipv6Only: host.includes(':'), backlog: 511 }, () => {
      server.off('error', fail);
      server.on('error', () => undefined);
      const addr = server.address() as net.AddressInfo;
      resolve({
        server,
        port: addr.port,
        address: addr.address,
        stats: st,
        close: (graceMs = 2000) =>
          new Promise<void>((done) => {
            closing = true;
            clearInterval(sweep);
            server.close(() => done());
            // A query may still be on its way in (sent just before the signal): each
            // connection answers what arrives and then ends; a quiet one ends after
            // a moment; whatever is left is cut when the grace period is over.
            const quiet = setTimeout(
              () => {
                for (const c of conns) if (c.splitter.pending === 0) c.socket.end();
              },
              Math.min(QUIET_MS, graceMs),
            );
            quiet.unref();
            const t = setTimeout(() => {
              for (const c of conns) c.socket.destroy();
            }, graceMs);
            t.unref();
          }),
      });
    });
  });
}
