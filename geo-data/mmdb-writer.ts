/**
 * Minimal, deterministic MaxMind DB (MMDB, binary format 2.0) writer.
 *
 * Written from the public "MaxMind DB File Format Specification". It exists so
 * tests can build small databases with known networks; it is not tuned for
 * databases with millions of networks.
 *
 * File layout produced:
 *
 *   [ search tree: node_count nodes, 2 records each ]
 *   [ 16 zero bytes: data-section separator        ]
 *   [ data section: one entry per distinct record  ]
 *   [ "\xAB\xCD\xEFMaxMind.com" + metadata map      ]
 *
 * The search tree is a binary trie over address bits (32 for IPv4 DBs, 128 for
 * IPv6 DBs). Each record holds one of:
 *   - value <  node_count  -> index of the child node
 *   - value == node_count  -> "no data" for every address below this record
 *   - value >  node_count  -> data: offset in data section = value - node_count - 16
 *
 * Deduplication happens per whole record, so the writer never emits pointers
 * (type 1) inside the data section; readers accept pointer-free data.
 */

/** A value storable in the data section. Plain JS values map to natural MMDB types
 *  (see {@link writeMmdb}); `{ $type, value }` forces a specific numeric type. */
export type MmdbValue =
  | string
  | number
  | boolean
  | MmdbValue[]
  | { [k: string]: MmdbValue }
  | { $type: 'double' | 'float' | 'uint16' | 'uint32' | 'uint64' | 'int32'; value: number };

/** One network of the database: `cidr` like '1.2.0.0/16' or '2a01::/16'. */
export interface MmdbNetwork {
  cidr: string;
  data: MmdbValue;
}

/** Options for {@link writeMmdb}. */
export interface MmdbWriteOptions {
  ipVersion: 4 | 6;
  recordSize: 24 | 28 | 32;
  databaseType: string;
  description?: Record<string, string>;
  languages?: string[];
  /** Build time in seconds since the epoch; fixed by callers for determinism. */
  buildEpoch: number;
  networks: MmdbNetwork[];
  /** For ipVersion 6: IPv4 networks are stored under ::/96 (as MaxMind does); when true, also alias ::ffff:0:0/96 to that subtree. */
  ipv4Aliases?: boolean;
}

// ---------------------------------------------------------------------------
// Addresses and CIDRs
// ---------------------------------------------------------------------------

interface ParsedCidr {
  family: 4 | 6;
  /** Address bytes: 4 for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  prefix: number;
}

function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p); // embedded IPv4 tail, e.g. ::ffff:1.2.3.4
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const explicit = head.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return null;
  const all = [...head, ...new Array<number>(8 - explicit).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function bitAt(bytes: Uint8Array, i: number): 0 | 1 {
  return ((bytes[i >> 3] >> (7 - (i & 7))) & 1) as 0 | 1;
}

/** Parse 'a.b.c.d/n' or 'x:y::/n'. Throws on malformed input or host bits set. */
function parseCidr(cidr: string): ParsedCidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}: expected address/prefix`);
  const v4 = m[1].includes(':') ? null : parseIPv4(m[1]);
  const bytes = v4 ?? (m[1].includes(':') ? parseIPv6(m[1]) : null);
  if (!bytes) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}: bad address`);
  const family = v4 ? 4 : 6;
  const prefix = Number(m[2]);
  if (prefix > bytes.length * 8) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}: prefix too long`);
  for (let i = prefix; i < bytes.length * 8; i++) {
    if (bitAt(bytes, i)) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}: host bits set`);
  }
  return { family, bytes, prefix };
}

// ---------------------------------------------------------------------------
// Data section encoding
// ---------------------------------------------------------------------------

/** MMDB type numbers. Types above 7 are "extended": the control byte's type bits
 *  are 0 and the byte after the control byte holds (type - 7). */
const T = {
  utf8: 2,
  double: 3,
  uint16: 5,
  uint32: 6,
  map: 7,
  int32: 8,
  uint64: 9,
  array: 11,
  boolean: 14,
  float: 15,
} as const;

/**
 * Control byte(s) for a field: 3 type bits + 5 size bits, then the extended type
 * byte (if any), then 0-3 size-extension bytes:
 *   size < 29       -> size stored in the 5 bits
 *   size < 285      -> bits = 29, one byte holds size - 29
 *   size < 65,821   -> bits = 30, two bytes hold size - 285
 *   larger          -> bits = 31, three bytes hold size - 65,821
 */
function header(type: number, size: number): Buffer {
  let sizeBits: number;
  let ext: number[];
  if (size < 29) [sizeBits, ext] = [size, []];
  else if (size < 285) [sizeBits, ext] = [29, [size - 29]];
  else if (size < 65821) [sizeBits, ext] = [30, [(size - 285) >> 8, (size - 285) & 0xff]];
  else if (size < 65821 + 0x1000000) {
    const s = size - 65821;
    [sizeBits, ext] = [31, [s >> 16, (s >> 8) & 0xff, s & 0xff]];
  } else throw new Error(`MMDB field too large (${size})`);
  const lead = type <= 7 ? [(type << 5) | sizeBits] : [sizeBits, type - 7];
  return Buffer.from([...lead, ...ext]);
}

/** Unsigned integer as big-endian bytes with leading zero bytes dropped (0 -> no bytes). */
function uintField(type: number, value: bigint): Buffer {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.concat([header(type, bytes.length), Buffer.from(bytes)]);
}

const TYPED_LIMITS = { uint16: 0xffff, uint32: 0xffffffff, uint64: Number.MAX_SAFE_INTEGER } as const;

function encodeTyped(t: string, value: number): Buffer {
  if (typeof value !== 'number') throw new Error(`MMDB ${t} value must be a number`);
  switch (t) {
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(value);
      return Buffer.concat([header(T.double, 8), b]);
    }
    case 'float': {
      const b = Buffer.alloc(4);
      b.writeFloatBE(value);
      return Buffer.concat([header(T.float, 4), b]);
    }
    case 'int32': {
      if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
        throw new Error(`MMDB int32 out of range: ${value}`);
      }
      // Always 4 bytes: readers only sign-extend a full-width int32.
      const b = Buffer.alloc(4);
      b.writeInt32BE(value);
      return Buffer.concat([header(T.int32, 4), b]);
    }
    case 'uint16':
    case 'uint32':
    case 'uint64': {
      if (!Number.isInteger(value) || value < 0 || value > TYPED_LIMITS[t]) {
        throw new Error(`MMDB ${t} out of range: ${value}`);
      }
      return uintField(T[t], BigInt(value));
    }
  }
  throw new Error(`unknown MMDB $type ${JSON.stringify(t)}`);
}

function isTyped(v: object): v is { $type: string; value: number } {
  return '$type' in v && 'value' in v && Object.keys(v).length === 2;
}

/** Serialize one value. Map keys are sorted so equal objects give equal bytes. */
function encodeValue(v: MmdbValue): Buffer {
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    return Buffer.concat([header(T.utf8, s.length), s]);
  }
  if (typeof v === 'boolean') return header(T.boolean, v ? 1 : 0); // value lives in the size bits
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 0xffff) return encodeTyped('uint16', v);
    if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return encodeTyped('uint32', v);
    if (Number.isInteger(v) && v < 0 && v >= -0x80000000) return encodeTyped('int32', v);
    if (Number.isSafeInteger(v) && v > 0) return encodeTyped('uint64', v);
    return encodeTyped('double', v);
  }
  if (Array.isArray(v)) return Buffer.concat([header(T.array, v.length), ...v.map(encodeValue)]);
  if (typeof v === 'object' && v !== null) {
    if (isTyped(v)) return encodeTyped(v.$type, v.value);
    const obj = v as { [k: string]: MmdbValue };
    const keys = Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const parts = [header(T.map, keys.length)];
    for (const k of keys) parts.push(encodeValue(k), encodeValue(obj[k]));
    return Buffer.concat(parts);
  }
  throw new Error(`cannot encode ${typeof v} in MMDB`);
}

// ---------------------------------------------------------------------------
// Search tree
// ---------------------------------------------------------------------------

/** A trie record: null = no data, number = data entry index, object = child node. */
type Rec = null | number | TrieNode;
interface TrieNode {
  children: [Rec, Rec];
}

/** Set the record covering `bytes/prefix` to `rec`, splitting leaves on the way down
 *  so the rest of a larger network keeps its data. */
function insert(root: TrieNode, bytes: Uint8Array, prefix: number, rec: Rec): void {
  if (prefix === 0) {
    root.children = [rec, rec];
    return;
  }
  let node = root;
  for (let depth = 0; depth < prefix - 1; depth++) {
    const bit = bitAt(bytes, depth);
    let child = node.children[bit];
    if (child === null || typeof child === 'number') {
      child = { children: [child, child] };
      node.children[bit] = child;
    }
    node = child;
  }
  node.children[bitAt(bytes, prefix - 1)] = rec;
}

/** The record at `bytes/prefix` (a leaf reached early covers everything below it). */
function lookup(root: TrieNode, bytes: Uint8Array, prefix: number): Rec {
  let rec: Rec = root;
  for (let depth = 0; depth < prefix; depth++) {
    if (rec === null || typeof rec === 'number') return rec;
    rec = rec.children[bitAt(bytes, depth)];
  }
  return rec;
}

/**
 * Pack one node. 24- and 32-bit records are two big-endian integers side by side.
 * 28-bit records (7 bytes) put the low 24 bits of each record in bytes 0-2 (left)
 * and 4-6 (right); the middle byte holds the top 4 bits of the left record in its
 * high nibble and the top 4 bits of the right record in its low nibble.
 */
function writeNode(buf: Buffer, offset: number, recordSize: 24 | 28 | 32, left: number, right: number): void {
  if (recordSize === 24) {
    buf.writeUIntBE(left, offset, 3);
    buf.writeUIntBE(right, offset + 3, 3);
  } else if (recordSize === 28) {
    buf.writeUIntBE(left & 0xffffff, offset, 3);
    buf[offset + 3] = ((left >>> 24) << 4) | (right >>> 24);
    buf.writeUIntBE(right & 0xffffff, offset + 4, 3);
  } else {
    buf.writeUInt32BE(left, offset);
    buf.writeUInt32BE(right, offset + 4);
  }
}

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'ascii')]);

/**
 * Build a complete MMDB file in memory.
 *
 * - Networks may nest: more specific networks override a larger one for their
 *   range, regardless of input order. For the same CIDR given twice, the later wins.
 * - In an ipVersion 6 DB, IPv4 networks are stored under ::/96; with
 *   `ipv4Aliases`, ::ffff:0:0/96 points at the same subtree.
 * - Plain numbers: integers 0..65535 -> uint16, up to 2^32-1 -> uint32, negative
 *   int32-range integers -> int32, larger safe integers -> uint64, anything else -> double.
 *   An object whose only keys are `$type` and `value` is a typed number, not a map.
 * - Identical records (same serialized bytes) share one data-section entry.
 * - The output depends only on the options: same input, same bytes.
 *
 * @throws on invalid CIDRs, IPv6 networks in an IPv4 DB, unencodable values, or a
 *         tree too large for the chosen record size.
 */
export function writeMmdb(opts: MmdbWriteOptions): Buffer {
  const { ipVersion, recordSize } = opts;
  if (ipVersion !== 4 && ipVersion !== 6) throw new Error(`ipVersion must be 4 or 6`);
  if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) throw new Error(`recordSize must be 24, 28 or 32`);

  // 1. Data section entries, deduplicated by their serialized bytes.
  const entries: Buffer[] = [];
  const entryIndex = new Map<string, number>();
  const parsed = opts.networks.map((n, order) => {
    const p = parseCidr(n.cidr);
    if (p.family === 6 && ipVersion === 4) throw new Error(`IPv6 network ${n.cidr} in an IPv4 database`);
    const bytes = p.family === 4 && ipVersion === 6 ? new Uint8Array([...new Uint8Array(12), ...p.bytes]) : p.bytes;
    const prefix = p.family === 4 && ipVersion === 6 ? p.prefix + 96 : p.prefix;
    const encoded = encodeValue(n.data);
    const key = encoded.toString('latin1');
    let index = entryIndex.get(key);
    if (index === undefined) {
      index = entries.length;
      entries.push(encoded);
      entryIndex.set(key, index);
    }
    return { bytes, prefix, index, order };
  });

  // 2. Trie. Shorter prefixes first so nested networks overwrite their parents' range.
  const root: TrieNode = { children: [null, null] };
  parsed.sort((a, b) => a.prefix - b.prefix || a.order - b.order);
  for (const p of parsed) insert(root, p.bytes, p.prefix, p.index);
  if (ipVersion === 6 && opts.ipv4Aliases) {
    const v4 = lookup(root, new Uint8Array(16), 96);
    const mapped = new Uint8Array(16);
    mapped[10] = mapped[11] = 0xff;
    // Shares the ::/96 node (the tree becomes a DAG); nothing to alias if empty.
    if (v4 !== null) insert(root, mapped, 96, v4);
  }

  // 3. Number nodes breadth-first (each shared node once) for a stable layout.
  const numbers = new Map<TrieNode, number>();
  const order: TrieNode[] = [root];
  numbers.set(root, 0);
  for (let i = 0; i < order.length; i++) {
    for (const c of order[i].children) {
      if (c !== null && typeof c === 'object' && !numbers.has(c)) {
        numbers.set(c, order.length);
        order.push(c);
      }
    }
  }
  const nodeCount = order.length;
  const dataOffsets: number[] = [];
  let dataSize = 0;
  for (const e of entries) {
    dataOffsets.push(dataSize);
    dataSize += e.length;
  }
  const recordValue = (r: Rec): number =>
    r === null ? nodeCount : typeof r === 'number' ? nodeCount + 16 + dataOffsets[r] : numbers.get(r)!;
  const maxValue = nodeCount + 16 + dataSize;
  if (maxValue >= 2 ** recordSize) throw new Error(`tree/data too large for ${recordSize}-bit records`);

  const nodeBytes = recordSize / 4; // two records per node: 6, 7 or 8 bytes
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  order.forEach((node, i) => {
    writeNode(tree, i * nodeBytes, recordSize, recordValue(node.children[0]), recordValue(node.children[1]));
  });

  // 4. Metadata (a map, with explicit integer widths as the spec requires).
  const metadata = encodeValue({
    node_count: { $type: 'uint32', value: nodeCount },
    record_size: { $type: 'uint16', value: recordSize },
    ip_version: { $type: 'uint16', value: ipVersion },
    database_type: opts.databaseType,
    languages: opts.languages ?? [],
    binary_format_major_version: { $type: 'uint16', value: 2 },
    binary_format_minor_version: { $type: 'uint16', value: 0 },
    build_epoch: { $type: 'uint64', value: opts.buildEpoch },
    description: opts.description ?? {},
  });

  // The 16 zero bytes between tree and data are the "data section separator";
  // data pointers in records are offset by these 16 bytes.
  return Buffer.concat([tree, Buffer.alloc(16), ...entries, METADATA_MARKER, metadata]);
}
