/**
 * DNS over TCP (RFC 7766): length-framed messages, several queries per
 * connection answered in order (pipelining), and limits so that slow,
 * half-open or greedy clients cannot hold the table: an idle timeout that
 * only a complete query resets (a byte-at-a-time client does not keep a
 * connection alive), shortened while the table is under pressure (RFC 7766
 * 6.2.3), a maximum lifetime (a client querying every few seconds does not
 * keep a slot forever), caps per source address and per source network
 * besides the global one, caps on queries per connection and on message
 * size, and back-pressure that bounds the answers queued for a client that
 * does not read: once the socket's buffer passes its high-water mark (the
 * kernel's buffer being full), no more of that client's queries are
 * answered or read until it drains, so at most 16 KiB and one answer wait
 * in memory, and a client that never reads is closed by the idle timeout
 * (counted as `unread`). When the table is full a new client takes the slot
 * of the connection idle the longest instead of being refused. Every refusal
 * and every close the server decides is counted by reason.
 */
import net from 'node:net';
import { ListenError } from '../errors.js';
import { networkOf } from '../net/ip.js';
import { MAX_MESSAGE } from '../wire/constants.js';
import { FrameSplitter, takeFrame } from './framing.js';
import type { PacketHandler } from './udp.js';

export interface TcpLimits {
  /** Seconds without a complete query before the connection is closed. */
  idleTimeout: number;
  /** The idle timeout once `pressureThreshold` of the table is in use. */
  idleTimeoutUnderPressure: number;
  /** Share of maxConnections (0-1) from which the shorter idle timeout applies. */
  pressureThreshold: number;
  maxConnections: number;
  /** Connections one source address may hold. */
  maxConnectionsPerAddress: number;
  /** Connections one source network (address cut to the prefix lengths below) may hold. */
  maxConnectionsPerPrefix: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** Seconds a connection may live, however busy. */
  maxConnectionLifetime: number;
  maxMessageSize: number;
  maxQueriesPerConnection: number;
}

/** Why a new connection was refused. */
export const TCP_REFUSALS = ['per_address', 'per_prefix', 'shutdown'] as const;
/** Why the server closed a connection (closes by the client are not counted here). */
export const TCP_CLOSES = [
  'idle',
  'idle_under_pressure',
  'lifetime',
  'evicted',
  'unread',
  'max_queries',
  'bad_frame',
] as const;
export type TcpRefusal = (typeof TCP_REFUSALS)[number];
export type TcpClose = (typeof TCP_CLOSES)[number];

export interface TcpStats {
  open: number;
  accepted: number;
  /** Connections refused, every reason together. */
  rejected: number;
  refused: Record<TcpRefusal, number>;
  closed: Record<TcpClose, number>;
}

export function emptyTcpStats(): TcpStats {
  return {
    open: 0,
    accepted: 0,
    rejected: 0,
    refused: Object.fromEntries(TCP_REFUSALS.map((r) => [r, 0])) as Record<TcpRefusal, number>,
    closed: Object.fromEntries(TCP_CLOSES.map((r) => [r, 0])) as Record<TcpClose, number>,
  };
}

/** Add `b` into `a` (cluster sums; `open` is added too). */
export function addTcpStats(a: TcpStats, b: TcpStats): void {
  a.open += b.open;
  a.accepted += b.accepted;
  a.rejected += b.rejected;
  for (const r of TCP_REFUSALS) a.refused[r] += b.refused?.[r] ?? 0;
  for (const r of TCP_CLOSES) a.closed[r] += b.closed?.[r] ?? 0;
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
  openedAt: number;
  lastQueryAt: number;
  queries: number;
  address: string;
  network: string;
  /** Out of the table (closed by us, or by the client). */
  gone: boolean;
  /** Waiting for the client to read its answers (back-pressure): nothing is read or answered meanwhile. */
  blocked: boolean;
}

const EMPTY = Buffer.alloc(0);
/** On shutdown, how long a connection may stay silent before it is ended. */
const QUIET_MS = 250;
/** A connection ended gracefully (lifetime, query cap) is cut if the client has not closed by then. */
const END_GRACE_MS = 2000;

export function listenTcp(
  host: string,
  port: number,
  handler: PacketHandler,
  limits: TcpLimits,
  stats?: TcpStats,
): Promise<TcpListener> {
  const st: TcpStats = stats ?? emptyTcpStats();
  const conns = new Set<Conn>();
  const perAddress = new Map<string, number>();
  const perNetwork = new Map<string, number>();
  let closing = false;
  // The listener's output buffer: answers are written at offset 2, behind their length (takeFrame copies them out).
  const out = Buffer.allocUnsafe(MAX_MESSAGE + 2);

  const bump = (m: Map<string, number>, key: string, by: number) => {
    const n = (m.get(key) ?? 0) + by;
    if (n <= 0) m.delete(key);
    else m.set(key, n);
  };

  /** Take a connection out of the table (once); with a reason, the server closes it. */
  const leave = (c: Conn, reason: TcpClose | null, graceful = false) => {
    if (c.gone) return;
    c.gone = true;
    conns.delete(c);
    bump(perAddress, c.address, -1);
    bump(perNetwork, c.network, -1);
    st.open--;
    if (reason === null) return;
    st.closed[reason]++;
    if (graceful) {
      c.socket.end();
      setTimeout(() => c.socket.destroy(), END_GRACE_MS).unref();
    } else c.socket.destroy();
  };

  const refuse = (socket: net.Socket, reason: TcpRefusal) => {
    st.rejected++;
    st.refused[reason]++;
    socket.destroy();
  };

  /** The connection without a complete query for the longest (the one a new client replaces when the table is full). */
  const longestIdle = (): Conn | null => {
    let victim: Conn | null = null;
    for (const c of conns) if (victim === null || c.lastQueryAt < victim.lastQueryAt) victim = c;
    return victim;
  };

  const server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    if (closing) return refuse(socket, 'shutdown');
    const remote = socket.remoteAddress ?? '';
    const address = networkOf(remote, 32, 128);
    const network = networkOf(remote, limits.ipv4PrefixLength, limits.ipv6PrefixLength);
    if ((perAddress.get(address) ?? 0) >= limits.maxConnectionsPerAddress) return refuse(socket, 'per_address');
    if ((perNetwork.get(network) ?? 0) >= limits.maxConnectionsPerPrefix) return refuse(socket, 'per_prefix');
    if (conns.size >= limits.maxConnections) {
      const victim = longestIdle();
      if (victim !== null) leave(victim, 'evicted');
    }
    st.accepted++;
    st.open++;
    const now = Date.now();
    const conn: Conn = {
      socket,
      splitter: new FrameSplitter(),
      openedAt: now,
      lastQueryAt: now,
      queries: 0,
      address,
      network,
      gone: false,
      blocked: false,
    };
    conns.add(conn);
    bump(perAddress, address, 1);
    bump(perNetwork, network, 1);
    /** Answer the complete queries buffered so far, until the client stops reading or the connection ends. */
    const answerQueued = (chunk: Buffer) => {
      const ok = conn.splitter.push(chunk, limits.maxMessageSize, (msg) => {
        conn.lastQueryAt = Date.now();
        const n = handler(msg, msg.length, remote, out, 2);
        if (n > 0 && !socket.write(takeFrame(out, n))) {
          // The kernel's buffer is full and ours past its mark: wait for the client to read.
          conn.blocked = true;
          socket.pause();
          socket.once('drain', () => {
            conn.blocked = false;
            if (conn.gone) return;
            socket.resume();
            answerQueued(EMPTY);
          });
          return false;
        }
        if (++conn.queries >= limits.maxQueriesPerConnection) {
          leave(conn, 'max_queries', true);
          return false;
        }
        if (closing) {
          socket.end();
          return false;
        }
        return true;
      });
      if (!ok) leave(conn, 'bad_frame'); // frame over the size limit or empty: not DNS, hang up
    };
    socket.on('data', (chunk: Buffer) => {
      if (conn.gone) return;
      if (conn.blocked) conn.splitter.hold(chunk);
      else answerQueued(chunk);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => leave(conn, null));
  });
  server.maxConnections = limits.maxConnections * 2; // the kernel-side backstop; our own checks come first

  // One sweep for all connections: idle (shorter under pressure) and lifetime.
  const idleMs = limits.idleTimeout * 1000;
  const pressureIdleMs = Math.min(idleMs, limits.idleTimeoutUnderPressure * 1000);
  const lifetimeMs = limits.maxConnectionLifetime * 1000;
  const pressureAt = Math.max(1, Math.ceil(limits.maxConnections * limits.pressureThreshold));
  const sweep = setInterval(
    () => {
      const now = Date.now();
      const pressure = conns.size >= pressureAt;
      const limit = pressure ? pressureIdleMs : idleMs;
      for (const c of conns) {
        if (now - c.openedAt > lifetimeMs) leave(c, 'lifetime', true);
        else if (now - c.lastQueryAt > limit)
          leave(c, c.blocked ? 'unread' : pressure && now - c.lastQueryAt <= idleMs ? 'idle_under_pressure' : 'idle');
      }
    },
    Math.max(50, Math.min(1000, Math.min(pressureIdleMs, lifetimeMs) / 4)),
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
