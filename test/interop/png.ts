/**
 * A tiny PNG decoder (node:zlib only) for screenshots: 8-bit truecolour with
 * or without alpha (colour types 2 and 6), non-interlaced, which is what
 * Chromium writes. Chunks are CRC-checked; IDAT data is inflated and the
 * five scanline filters (None, Sub, Up, Average, Paeth) are undone.
 */
import { inflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (ISO 3309) as PNG chunks use it. */
function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface DecodedPng {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** Row-major pixels, `channels` bytes each. */
  data: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(png: Buffer): DecodedPng {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (bad signature)');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  let sawEnd = false;
  while (off + 12 <= png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    if (off + 12 + len > png.length) throw new Error(`PNG chunk ${type} runs past the end`);
    const body = png.subarray(off + 8, off + 8 + len);
    const crc = png.readUInt32BE(off + 8 + len);
    if (crc32(png.subarray(off + 4, off + 8 + len)) >>> 0 !== crc) throw new Error(`PNG chunk ${type}: CRC mismatch`);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const bitDepth = body[8];
      const colourType = body[9];
      const interlace = body[12];
      if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
        throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace}`);
      }
      channels = colourType === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    off += 12 + len;
  }
  if (!width || !channels) throw new Error('PNG without IHDR');
  if (!sawEnd) throw new Error('PNG without IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1))
    throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    const prev = dst - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[dst + x - channels] : 0;
      const b = y > 0 ? out[prev + x] : 0;
      const c = x >= channels && y > 0 ? out[prev + x - channels] : 0;
      const v = raw[src + x];
      let r: number;
      switch (filter) {
        case 0:
          r = v;
          break;
        case 1:
          r = v + a;
          break;
        case 2:
          r = v + b;
          break;
        case 3:
          r = v + ((a + b) >> 1);
          break;
        case 4:
          r = v + paeth(a, b, c);
          break;
        default:
          throw new Error(`PNG row ${y}: unknown filter ${filter}`);
      }
      out[dst + x] = r & 0xff;
    }
  }
  return { width, height, channels, data: out };
}

export function hexToRgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`bad colour ${hex}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

/** `alpha` of `fg` over `bg` (what an SVG fill-opacity paints). */
export function blend(fg: readonly number[], bg: readonly number[], alpha: number): [number, number, number] {
  return [0, 1, 2].map((i) => Math.round(alpha * fg[i] + (1 - alpha) * bg[i])) as [number, number, number];
}

/** Pixels within Euclidean RGB distance `tolerance` of any of `targets`. */
export function countNear(img: DecodedPng, targets: ReadonlyArray<readonly number[]>, tolerance: number): number {
  const t2 = tolerance * tolerance;
  let n = 0;
  for (let i = 0; i < img.data.length; i += img.channels) {
    const r = img.data[i];
    const g = img.data[i + 1];
    const b = img.data[i + 2];
    for (const t of targets) {
      const dr = r - t[0];
      const dg = g - t[1];
      const db = b - t[2];
      if (dr * dr + dg * dg + db * db <= t2) {
        n++;
        break;
      }
    }
  }
  return n;
}

/**
 * Pixels that are `colour` painted over one of `backgrounds` with coverage
 * >= `minAlpha` (fill-opacity times antialiasing coverage): the pixel lies
 * within `tolerance` of the segment background -> colour, at least
 * `minAlpha` of the way. Catches the soft edges of small dots that a plain
 * distance test misses, but not other hues.
 */
export function countPainted(
  img: DecodedPng,
  colour: readonly number[],
  backgrounds: ReadonlyArray<readonly number[]>,
  minAlpha: number,
  tolerance: number,
  region: { x0: number; y0: number; x1: number; y1: number } = { x0: 0, y0: 0, x1: img.width, y1: img.height },
): number {
  const t2 = tolerance * tolerance;
  const segs = backgrounds.map((bg) => {
    const d = [colour[0] - bg[0], colour[1] - bg[1], colour[2] - bg[2]];
    return { bg, d, len2: d[0] * d[0] + d[1] * d[1] + d[2] * d[2] };
  });
  let n = 0;
  const xEnd = Math.min(img.width, region.x1);
  const yEnd = Math.min(img.height, region.y1);
  for (let y = Math.max(0, region.y0); y < yEnd; y++) {
    for (let x = Math.max(0, region.x0); x < xEnd; x++) {
      const i = (y * img.width + x) * img.channels;
      const p = [img.data[i], img.data[i + 1], img.data[i + 2]];
      for (const { bg, d, len2 } of segs) {
        if (len2 === 0) continue;
        const v = [p[0] - bg[0], p[1] - bg[1], p[2] - bg[2]];
        const a = Math.min(1, (v[0] * d[0] + v[1] * d[1] + v[2] * d[2]) / len2);
        if (a < minAlpha) continue;
        const e0 = v[0] - a * d[0];
        const e1 = v[1] - a * d[1];
        const e2 = v[2] - a * d[2];
        if (e0 * e0 + e1 * e1 + e2 * e2 <= t2) {
          n++;
          break;
        }
      }
    }
  }
  return n;
}
