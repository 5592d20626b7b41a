/**
 * A reader for the MaxMind DB format's search tree and data section, for the
 * compiler: it walks every network once (the `maxmind` package answers one
 * address at a time and cannot enumerate). Lookups for `explain` go through
 * the `maxmind` package instead (policy/client-facts.ts, ClientLocator.raw).
 *
 * Format: a binary search tree of `nodeCount` nodes, each two records of
 * 24/28/32 bits; a record < nodeCount is a node, == nodeCount is "no data",
 * > nodeCount points into the data section (after a 16-byte zero separator).
 * Metadata is a data-section map after the last "\xAB\xCD\xEFMaxMind.com".
 */
import { GeoDatabaseError } from '../errors.js';
import { IntMap } from './int-map.js';
import { BoundedDecoder, validateDatabase, type DatabaseLayout, type DatabaseRole } from './validate.js';

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');

export interface MmdbMetadata {
  nodeCount: number;
  recordSize: 24 | 28 | 32;
  ipVersion: 4 | 6;
  databaseType: string;
  buildEpoch: number;
  languages: string[];
}

export type MmdbValue =
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | MmdbValue[]
  | { [key: string]: MmdbValue }
  | null;

export class MmdbFile {
  readonly metadata: MmdbMetadata;
  readonly nodeCount: number;
  private readonly recordSize: number;
  /** Offset of the data section (tree size + 16). */
  private readonly dataStart: number;
  /** Decoded strings by absolute offset (index into `strings`): country codes repeat millions of times. */
  private readonly stringIndex = new IntMap(1 << 12);
  private readonly strings: string[] = [];

  /** Where the tree, the data section and the metadata lie (checked against the file size). */
  readonly layout: DatabaseLayout;

  constructor(
    readonly buf: Buffer,
    readonly file: string,
  ) {
    const at = buf.lastIndexOf(METADATA_MARKER);
    if (at < 0) throw new GeoDatabaseError(file, 'not a MaxMind DB file (no metadata marker)');
    const metaAt = at + METADATA_MARKER.length;
    let meta: Record<string, MmdbValue>;
    try {
      const [value] = new BoundedDecoder(buf, metaAt, buf.length).decode(metaAt);
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new Error('the metadata is not a map');
      meta = value as Record<string, MmdbValue>;
    } catch (err) {
      const offset = (err as { offset?: number }).offset;
      throw new GeoDatabaseError(file, `unreadable metadata: ${(err as Error).message}`, offset);
    }
    const recordSize = Number(meta.record_size);
    const ipVersion = Number(meta.ip_version);
    const nodeCount = Number(meta.node_count);
    if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) {
      throw new GeoDatabaseError(file, `unsupported record size ${recordSize}`, metaAt);
    }
    if (ipVersion !== 4 && ipVersion !== 6)
      throw new GeoDatabaseError(file, `unsupported ip_version ${ipVersion}`, metaAt);
    if (meta.binary_format_major_version !== undefined && Number(meta.binary_format_major_version) !== 2) {
      throw new GeoDatabaseError(
        file,
        `unsupported binary format version ${String(meta.binary_format_major_version)} (2 is supported)`,
        metaAt,
      );
    }
    if (!Number.isInteger(nodeCount) || nodeCount < 1)
      throw new GeoDatabaseError(file, `node_count ${String(meta.node_count)} is not a positive integer`, metaAt);
    this.metadata = {
      nodeCount,
      recordSize,
      ipVersion,
      databaseType: String(meta.database_type ?? ''),
      buildEpoch: Number(meta.build_epoch ?? 0),
      languages: Array.isArray(meta.languages) ? meta.languages.map(String) : [],
    };
    this.nodeCount = nodeCount;
    this.recordSize = recordSize;
    const treeBytes = (nodeCount * recordSize) / 4;
    this.dataStart = treeBytes + 16;
    if (this.dataStart > at) {
      throw new GeoDatabaseError(
        file,
        `search tree larger than the file: node_count ${nodeCount} needs ${treeBytes + 16} bytes, ${at} come before the metadata`,
        metaAt,
      );
    }
    this.layout = { treeBytes, dataStart: this.dataStart, dataEnd: at };
  }

  /**
   * Check the whole file (search tree, every data record it points at, the
   * record schema for `role`) before anything trusts it. Throws GeoDatabaseError.
   */
  validate(role: DatabaseRole): { nodes: number; records: number } {
    return validateDatabase(this, role, this.layout);
  }

  /** Record `bit` (0 = left, 1 = right) of `node`. */
  record(node: number, bit: number): number {
    const b = this.buf;
    if (this.recordSize === 28) {
      const o = node * 7;
      if (bit === 0) return ((b[o + 3] & 0xf0) << 20) | (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];
      return ((b[o + 3] & 0x0f) << 24) | (b[o + 4] << 16) | (b[o + 5] << 8) | b[o + 6];
    }
    if (this.recordSize === 24) {
      const o = node * 6 + bit * 3;
      return (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];
    }
    return b.readUInt32BE(node * 8 + bit * 4);
  }

  /** The node for ::/96, where IPv6 databases keep IPv4; 0 for an IPv4 database. -1 if absent. */
  ipv4Root(): number {
    if (this.metadata.ipVersion === 4) return 0;
    let node = 0;
    for (let i = 0; i < 96 && node < this.nodeCount; i++) node = this.record(node, 0);
    return node < this.nodeCount ? node : -1;
  }

  /**
   * Walk the tree from `root` with the address bits of `bytes` (at most `bits`).
   * Returns the record value reached (> nodeCount: data, == nodeCount: none)
   * and the depth at which the walk ended (the network's prefix length).
   */
  lookupRecord(root: number, bytes: Uint8Array, bits: number): { record: number; depth: number } {
    let node = root;
    let depth = 0;
    while (node >= 0 && node < this.nodeCount && depth < bits) {
      node = this.record(node, (bytes[depth >> 3] >> (7 - (depth & 7))) & 1);
      depth++;
    }
    return { record: node < 0 ? this.nodeCount : node, depth };
  }

  /** Absolute buffer offset of a data record pointed to by record value `value` (> nodeCount). */
  dataOffset(value: number): number {
    return value - this.nodeCount - 16 + this.dataStart;
  }

  /** Decode the full value at an absolute offset in the data section (bounds-checked; for tests and tools). */
  decode(offset: number): MmdbValue {
    return new BoundedDecoder(this.buf, this.layout.dataStart, this.layout.dataEnd).decode(offset)[0] as MmdbValue;
  }

  // Header of the value last read by readHeader(): type, size and where its payload starts.
  // Fields instead of a returned tuple: the compiler reads millions of them.
  private hType = 0;
  private hSize = 0;
  private hNext = 0;

  private readHeader(off: number): void {
    const b = this.buf;
    const ctrl = b[off++];
    let type = ctrl >> 5;
    if (type === 0) type = 7 + b[off++];
    let size = ctrl & 0x1f;
    if (type !== 1) {
      if (size === 29) size = 29 + b[off++];
      else if (size === 30) {
        size = 285 + ((b[off] << 8) | b[off + 1]);
        off += 2;
      } else if (size === 31) {
        size = 65821 + ((b[off] << 16) | (b[off + 1] << 8) | b[off + 2]);
        off += 3;
      }
    }
    this.hType = type;
    this.hSize = size; // for a pointer: the raw size bits, interpreted by pointerTarget()
    this.hNext = off;
  }

  /** After readHeader() saw a pointer: its absolute target; hNext moves past the pointer. */
  private pointerTarget(): number {
    const b = this.buf;
    const bits = this.hSize;
    let off = this.hNext;
    const ss = (bits >> 3) & 3;
    const vvv = bits & 7;
    let p: number;
    if (ss === 0) p = (vvv << 8) | b[off++];
    else if (ss === 1) {
      p = ((vvv << 16) | (b[off] << 8) | b[off + 1]) + 2048;
      off += 2;
    } else if (ss === 2) {
      p = ((vvv << 24) | (b[off] << 16) | (b[off + 1] << 8) | b[off + 2]) + 526336;
      off += 3;
    } else {
      p = b.readUInt32BE(off);
      off += 4;
    }
    this.hNext = off;
    return this.dataStart + p;
  }

  /** Resolve a pointer (chain): the absolute offset of the value that `off` denotes. */
  resolve(off: number): number {
    for (let guard = 0; guard < 8; guard++) {
      this.readHeader(off);
      if (this.hType !== 1) return off;
      off = this.pointerTarget();
    }
    throw new GeoDatabaseError(this.file, 'pointer chain too long');
  }

  /** Decode a string at `off` (following pointers); cached by the string's own offset. */
  stringAt(off: number, cache = true): string | null {
    const at = this.resolve(off);
    const cached = this.stringIndex.get(at);
    if (cached >= 0) return this.strings[cached];
    this.readHeader(at);
    if (this.hType !== 2) return null;
    const s = this.buf.toString('utf8', this.hNext, this.hNext + this.hSize);
    if (cache && this.strings.length < 200_000) {
      this.stringIndex.set(at, this.strings.length);
      this.strings.push(s);
    }
    return s;
  }

  /** Offset just past the value at `off` without decoding it. */
  skip(off: number): number {
    this.readHeader(off);
    const type = this.hType;
    const size = this.hSize;
    const start = this.hNext;
    switch (type) {
      case 1:
        this.pointerTarget();
        return this.hNext;
      case 7: {
        let p = start;
        for (let i = 0; i < size; i++) p = this.skip(this.skip(p));
        return p;
      }
      case 11: {
        let p = start;
        for (let i = 0; i < size; i++) p = this.skip(p);
        return p;
      }
      case 14:
        return start; // boolean: the value is in the size bits
      case 3:
        return start + 8;
      case 15:
        return start + 4;
      default:
        return start + size;
    }
  }

  /**
   * Number of entries of the map at `off` (pointers followed), or -1 if it is
   * not a map. The first key is then at `entriesStart`.
   */
  mapSize(off: number): number {
    this.readHeader(this.resolve(off));
    if (this.hType !== 7) return -1;
    this.entriesStart = this.hNext;
    return this.hSize;
  }
  /** Offset of the first key of the map last opened with mapSize(). */
  entriesStart = 0;

  /**
   * Symbol id of the map key at `off`: `symbols` numbers the keys a caller
   * cares about (others are 0). Cached by the key's resolved offset, since
   * writers store each key string once and point at it.
   */
  symbolAt(off: number, symbols: ReadonlyMap<string, number>): number {
    const at = this.resolve(off);
    let id = this.symbolCache.get(at, -1);
    if (id < 0) {
      const s = this.stringAt(at, false);
      id = s === null ? 0 : (symbols.get(s) ?? 0);
      this.symbolCache.set(at, id);
    }
    return id;
  }
  private readonly symbolCache = new IntMap(1 << 10);

  /** Offset of the value whose key has symbol `symbol` in the map at `off`, or -1. */
  field(off: number, symbol: number, symbols: ReadonlyMap<string, number>): number {
    const n = this.mapSize(off);
    let p = this.entriesStart;
    for (let i = 0; i < n; i++) {
      const k = this.symbolAt(p, symbols);
      p = this.skip(p);
      if (k === symbol) return p;
      p = this.skip(p);
    }
    return -1;
  }

  /** Read a number (any numeric type) at `off`, or NaN. */
  numberAt(off: number): number {
    this.readHeader(this.resolve(off));
    const size = this.hSize;
    const start = this.hNext;
    const b = this.buf;
    switch (this.hType) {
      case 3:
        return b.readDoubleBE(start);
      case 15:
        return b.readFloatBE(start);
      case 5:
      case 6:
      case 9:
      case 10: {
        let v = 0;
        for (let i = 0; i < size; i++) v = v * 256 + b[start + i];
        return v;
      }
      case 8: {
        let v = 0;
        for (let i = 0; i < size; i++) v = (v << 8) | b[start + i];
        return size === 4 ? v | 0 : v;
      }
      default:
        return NaN;
    }
  }

  /** First element offset of an array at `off`, or -1. */
  firstElement(off: number): number {
    this.readHeader(this.resolve(off));
    return this.hType === 11 && this.hSize > 0 ? this.hNext : -1;
  }
}
