/**
 * FrameSplitter (RFC 1035 4.2.2 / RFC 7766 8): two-byte length framing over
 * a byte stream, whatever the chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frame, FrameSplitter } from '../../../src/transport/framing.js';

const MAX = 65535;

function framed(...msgs: Buffer[]): Buffer {
  return Buffer.concat(
    msgs.map((m) => {
      const h = Buffer.alloc(2);
      h.writeUInt16BE(m.length, 0);
      return Buffer.concat([h, m]);
    }),
  );
}

/** Push `chunks` in order; returns the messages (copied at delivery) and the push results. */
function run(
  chunks: Buffer[],
  maxSize = MAX,
  splitter = new FrameSplitter(),
): { msgs: Buffer[]; results: boolean[]; splitter: FrameSplitter } {
  const msgs: Buffer[] = [];
  const results = chunks.map((c) =>
    splitter.push(c, maxSize, (m) => {
      msgs.push(Buffer.from(m));
      return true;
    }),
  );
  return { msgs, results, splitter };
}

const m1 = Buffer.from('first message');
const m2 = Buffer.from('second, a bit longer message');
const m3 = Buffer.alloc(300, 0xab);

describe('FrameSplitter', () => {
  it('delivers one whole message from one chunk', () => {
    const { msgs, results, splitter } = run([framed(m1)]);
    expect(msgs).toEqual([m1]);
    expect(results).toEqual([true]);
    expect(splitter.pending).toBe(0);
  });

  it('waits on a partial length prefix (one byte), then completes', () => {
    const s = new FrameSplitter();
    const bytes = framed(m1);
    const got: Buffer[] = [];
    expect(s.push(bytes.subarray(0, 1), MAX, (m) => (got.push(Buffer.from(m)), true))).toBe(true);
    expect(got).toEqual([]);
    expect(s.pending).toBe(1);
    expect(s.push(bytes.subarray(1), MAX, (m) => (got.push(Buffer.from(m)), true))).toBe(true);
    expect(got).toEqual([m1]);
    expect(s.pending).toBe(0);
  });

  it('waits on a length prefix followed by part of the message', () => {
    const bytes = framed(m2);
    const { msgs, splitter } = run([bytes.subarray(0, 2), bytes.subarray(2, 10)]);
    expect(msgs).toEqual([]);
    expect(splitter.pending).toBe(10);
    run([bytes.subarray(10)], MAX, splitter);
    expect(splitter.pending).toBe(0);
  });

  it('reassembles a message split byte by byte', () => {
    const bytes = framed(m3);
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    const { msgs, results, splitter } = run(chunks);
    expect(msgs).toEqual([m3]);
    expect(results.every(Boolean)).toBe(true);
    expect(splitter.pending).toBe(0);
  });

  it('delivers many messages from one chunk, in order', () => {
    const list = Array.from({ length: 50 }, (_, i) => Buffer.from(`message number ${i}`));
    const { msgs, splitter } = run([framed(...list)]);
    expect(msgs).toEqual(list);
    expect(splitter.pending).toBe(0);
  });

  it('delivers complete messages and keeps a trailing partial one', () => {
    const bytes = framed(m1, m2, m3);
    const cut = bytes.length - 5;
    const { msgs, splitter } = run([bytes.subarray(0, cut)]);
    expect(msgs).toEqual([m1, m2]);
    expect(splitter.pending).toBe(2 + m3.length - 5);
    const rest = run([bytes.subarray(cut)], MAX, splitter);
    expect(rest.msgs).toEqual([m3]);
    expect(splitter.pending).toBe(0);
  });

  it('accepts a message of exactly maxSize and a 1-byte message', () => {
    const big = Buffer.alloc(512, 7);
    const { msgs, results } = run([framed(big, Buffer.from([9]))], 512);
    expect(results).toEqual([true]);
    expect(msgs).toEqual([big, Buffer.from([9])]);
  });

  it('rejects a zero-length frame', () => {
    const { msgs, results } = run([Buffer.from([0, 0])]);
    expect(results).toEqual([false]);
    expect(msgs).toEqual([]);
  });

  it('rejects a frame announcing more than maxSize, before its body arrives', () => {
    const { msgs, results } = run([Buffer.from([0x02, 0x01])], 512);
    expect(results).toEqual([false]);
    expect(msgs).toEqual([]);
  });

  it('rejects an over-size frame announced across two chunks', () => {
    const { results } = run([Buffer.from([0xff]), Buffer.from([0xff])], 4096);
    expect(results).toEqual([true, false]);
  });

  it('delivers the messages before a bad frame in the same chunk, then rejects', () => {
    const { msgs, results } = run([Buffer.concat([framed(m1, m2), Buffer.from([0, 0]), framed(m3)])]);
    expect(msgs).toEqual([m1, m2]);
    expect(results).toEqual([false]);
  });

  it('stops delivering when the callback returns false and keeps the rest pending', () => {
    const s = new FrameSplitter();
    const got: Buffer[] = [];
    const bytes = framed(m1, m2, m3);
    expect(s.push(bytes, MAX, (m) => (got.push(Buffer.from(m)), false))).toBe(true);
    expect(got).toEqual([m1]);
    expect(s.pending).toBe(bytes.length - 2 - m1.length);
  });

  it('delivered messages are not changed by later pushes', () => {
    const s = new FrameSplitter();
    const kept: Buffer[] = [];
    const bytes = framed(m1, m2);
    s.push(bytes.subarray(0, 2 + m1.length + 3), MAX, (m) => (kept.push(m), true));
    s.push(bytes.subarray(2 + m1.length + 3), MAX, (m) => (kept.push(m), true));
    s.push(framed(Buffer.alloc(100, 0xee)), MAX, (m) => (kept.push(m), true));
    expect(kept.slice(0, 2)).toEqual([m1, m2]);
  });

  it('frame() prefixes the two-byte length', () => {
    expect(frame(Buffer.from('abc'))).toEqual(Buffer.from([0, 3, 0x61, 0x62, 0x63]));
    const big = Buffer.alloc(0x1234, 1);
    const f = frame(big);
    expect(f.readUInt16BE(0)).toBe(0x1234);
    expect(f.length).toBe(0x1236);
    const { msgs } = run([f]);
    expect(msgs).toEqual([big]);
  });

  it('property: any chunking of a framed stream yields the same messages, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 700 }), { minLength: 0, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (messages, cutSeeds) => {
          const list = messages.map((m) => Buffer.from(m));
          const stream = framed(...list);
          const cuts = [...new Set(cutSeeds.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort(
            (a, b) => a - b,
          );
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const c of [...cuts, stream.length]) {
            chunks.push(stream.subarray(prev, c)); // empty chunks included on purpose
            prev = c;
          }
          const { msgs, results, splitter } = run(chunks);
          expect(results.every(Boolean)).toBe(true);
          expect(msgs).toEqual(list);
          expect(splitter.pending).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: a stream with one bad frame delivers exactly the messages before it, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 8 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 513, max: 65535 })),
        fc.array(fc.nat(), { maxLength: 20 }),
        (messages, badLen, cutSeeds) => {
          const list = messages.map((m) => Buffer.from(m));
          const bad = Buffer.alloc(2);
          bad.writeUInt16BE(badLen, 0);
          const stream = Buffer.concat([framed(...list), bad, framed(Buffer.from('after'))]);
          const cuts = [...new Set(cutSeeds.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const s = new FrameSplitter();
          const got: Buffer[] = [];
          let prev = 0;
          let rejected = false;
          for (const c of [...cuts, stream.length]) {
            if (!s.push(stream.subarray(prev, c), 512, (m) => (got.push(Buffer.from(m)), true))) {
              rejected = true;
              break;
            }
            prev = c;
          }
          expect(rejected).toBe(true);
          expect(got).toEqual(list);
        },
      ),
      { numRuns: 300 },
    );
  });
});
