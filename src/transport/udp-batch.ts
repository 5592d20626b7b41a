/**
 * Batched UDP through the native addon (native/udp_batch.c): recvmmsg fills
 * up to 64 datagram slots of a shared buffer, one JS call answers them all into
 * the output slots, sendmmsg sends the answers. The per-packet Buffer, rinfo
 * object and send request of node:dgram disappear. The socket is opened with
 * SO_REUSEPORT, so each cluster worker binds its own and the kernel spreads
 * clients. When the addon is not built (no compiler, not Linux) Meridian uses
 * node:dgram (udp.ts); `MERIDIAN_UDP=dgram` forces that.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../util/package-root.js';
import { ListenError } from '../errors.js';
import type { UdpListener } from './udp.js';

/**
 * The handler for one datagram of a batch: the source address as bytes
 * (family 4 or 6 at `addr[addrOff]`); answer into `dest` at `destOff` and
 * return the length (0 = none).
 */
export type BatchHandler = (
  msg: Buffer,
  len: number,
  family: number,
  addr: Uint8Array,
  addrOff: number,
  dest: Buffer,
  destOff: number,
) => number;

interface Addon {
  open(host: string, port: number, reusePort: boolean, group: number): { fd: number; port: number };
  start(fd: number, buffers: object, onBatch: (n: number) => void): unknown;
  stop(handle: unknown): void;
  BATCH: number;
  IN_SLOT: number;
  OUT_SLOT: number;
  ADDR_SLOT: number;
  STATS: number;
}

let addon: Addon | null | undefined;

/** The addon if it is built and allowed, else null (then node:dgram is used). */
export function batchAddon(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.MERIDIAN_UDP === 'dgram' || process.platform !== 'linux') return null;
  try {
    addon = createRequire(import.meta.url)(path.join(PACKAGE_ROOT, 'build', 'Release', 'udp_batch.node')) as Addon;
  } catch {
    addon = null;
  }
  return addon;
}

/**
 * Bind a batched UDP listener. `group` is how many processes share the port
 * (cluster workers): the kernel then spreads datagrams over them at random.
 * `startBatch` runs once before each batch's datagrams (the caller reads its
 * clock there, not per datagram).
 */
export function listenUdpBatch(
  a: Addon,
  host: string,
  port: number,
  handler: BatchHandler,
  group = 1,
  startBatch: () => void = () => undefined,
): UdpListener {
  let opened: { fd: number; port: number };
  try {
    opened = a.open(host, port, true, group);
  } catch (err) {
    throw new ListenError(`udp ${host}:${port}`, err);
  }
  const input = new ArrayBuffer(a.BATCH * a.IN_SLOT);
  const inBuf = Buffer.from(input);
  const output = new ArrayBuffer(a.BATCH * a.OUT_SLOT);
  const outBuf = Buffer.from(output);
  const buffers = {
    in: input,
    inLens: new Int32Array(a.BATCH),
    addrs: new Uint8Array(a.BATCH * a.ADDR_SLOT),
    out: output,
    outLens: new Int32Array(a.BATCH),
    // The addon's counters, then ours (the addon checks a minimum length only).
    stats: new Float64Array(a.STATS + 1),
  };
  const CALLBACK_ERRORS = a.STATS;
  // One scratch per listener: the query is copied out of its slot so the
  // decoder sees it at offset 0 (cheaper than a Buffer view per packet).
  const scratch = Buffer.allocUnsafe(a.IN_SLOT);
  const { inLens, addrs, outLens } = buffers;
  const inSlot = a.IN_SLOT;
  const outSlot = a.OUT_SLOT;
  const addrSlot = a.ADDR_SLOT;
  // Guarded: the handler catches its own errors, but anything that still
  // escapes costs that one datagram (no answer, counted), never the batch or
  // the process (an exception here would surface as uncaughtException).
  const onBatch = (n: number) => {
    try {
      startBatch();
    } catch {
      buffers.stats[CALLBACK_ERRORS]++;
    }
    for (let i = 0; i < n; i++) {
      const len = inLens[i];
      if (len === 0) continue;
      try {
        const base = i * inSlot;
        for (let j = 0; j < len; j++) scratch[j] = inBuf[base + j];
        const ab = i * addrSlot;
        outLens[i] = handler(scratch, len, addrs[ab], addrs, ab + 4, outBuf, i * outSlot);
      } catch {
        outLens[i] = 0;
        buffers.stats[CALLBACK_ERRORS]++;
      }
    }
  };
  const handle = a.start(opened.fd, buffers, onBatch);
  return {
    socket: null,
    port: opened.port,
    address: host,
    // The addon's counters: [recv, sent, sendDropped, truncated, batches], then ours.
    counters: () => ({
      sendErrors: buffers.stats[2],
      handlerErrors: buffers.stats[CALLBACK_ERRORS],
      oversized: buffers.stats[3],
    }),
    close: async () => {
      a.stop(handle);
    },
  };
}
