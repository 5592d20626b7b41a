/**
 * RFC 1035 4.2.2 / RFC 7766 8: DNS over TCP frames every message with a
 * two-byte length. This splitter takes stream chunks as they come (partial
 * lengths, partial messages, several messages in one chunk) and hands out
 * whole messages. Pure: no sockets, no timers.
 */
export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);

  /** Bytes held that do not yet form a whole message. */
  get pending(): number {
    return this.buf.length;
  }

  /** Keep a chunk without handing out messages (the reader is paused); the next push() goes on from here. */
  hold(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /**
   * Add a chunk; calls `onMessage` for each complete message, in order.
   * When `onMessage` returns false the rest is kept for the next push (an
   * empty chunk goes on with it).
   * Returns false (and stops) if a frame announces more than `maxSize` bytes
   * or zero bytes: the caller should close the connection.
   */
  push(chunk: Buffer, maxSize: number, onMessage: (msg: Buffer) => boolean): boolean {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let off = 0;
    while (this.buf.length - off >= 2) {
      const len = this.buf.readUInt16BE(off);
      if (len === 0 || len > maxSize) return false;
      if (this.buf.length - off - 2 < len) break;
      const msg = this.buf.subarray(off + 2, off + 2 + len);
      off += 2 + len;
      if (!onMessage(msg)) {
        this.buf = this.buf.subarray(off);
        return true;
      }
    }
    // Keep only the unread tail; copy it so a huge chunk is not pinned by a small remainder.
    this.buf = off === 0 ? this.buf : Buffer.from(this.buf.subarray(off));
    return true;
  }
}

/**
 * The frame of a message written at `buf[2..2 + len)`: its length is put in
 * front and the frame copied out (the caller reuses `buf` for the next one).
 */
export function takeFrame(buf: Buffer, len: number): Buffer {
  buf.writeUInt16BE(len, 0);
  const out = Buffer.allocUnsafe(len + 2);
  buf.copy(out, 0, 0, len + 2);
  return out;
}

/** Prefix a message with its two-byte length (clients and tests). */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}
