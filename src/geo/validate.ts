/**
 * Validate a MaxMind DB file before the compiler trusts it: a bad download, a
 * disk error or a wrong file must be refused with a precise reason (file,
 * byte offset, what is wrong), never compiled into answers.
 *
 * Checked, per the MaxMind DB File Format Specification 2.0:
 *  - the search tree, walked once with bounds: every record is a node index,
 *    "no data", or a pointer inside the data section; no node is met twice on
 *    one path (a loop); no path is longer than the address width (32/128);
 *    the 16-byte zero separator sits where node_count says the tree ends, and
 *    every one of node_count nodes is reachable (the node count matches);
 *  - every data record the tree points at: value headers, sizes and pointers
 *    inside the data section, known types with their fixed sizes, UTF-8
 *    strings, map keys that are strings, bounded nesting;
 *  - the record schema for the role the file plays: a city/country database
 *    carries locations (GeoIP2 `country`/`location`..., DB-IP `country_code`,
 *    `latitude`...) with well-formed values; an ASN database carries
 *    `autonomous_system_number`.
 * The walk keeps one byte per node and visits each node and each distinct
 * record once (subtrees shared by IPv4 aliases are not walked again).
 */
import { isUtf8 } from 'node:buffer';
import { GeoDatabaseError } from '../errors.js';
import { IntMap } from './int-map.js';
import type { MmdbFile } from './mmdb.js';

/** What a database is used for: city/country locations, or AS numbers. */
export type DatabaseRole = 'location' | 'asn';

/** The shape a map value must have (only keys Meridian reads are described; others are free). */
type Shape =
  | { kind: 'map'; fields?: Readonly<Record<string, Shape>> }
  | { kind: 'array'; of: Shape }
  | { kind: 'string'; pattern?: RegExp; what?: string }
  | { kind: 'number'; min?: number; max?: number }
  | { kind: 'uint' }
  | { kind: 'name' };

const ISO2: Shape = { kind: 'string', pattern: /^[A-Za-z]{2}$/, what: 'a two-letter code' };
const ISO_OR_EMPTY: Shape = { kind: 'string', pattern: /^([A-Za-z]{2})?$/, what: 'a two-letter code or ""' };
const LAT: Shape = { kind: 'number', min: -90, max: 90 };
const LON: Shape = { kind: 'number', min: -180, max: 180 };
const NAMES: Shape = { kind: 'map', fields: { en: { kind: 'string' } } };
const COUNTRY: Shape = { kind: 'map', fields: { iso_code: ISO2, names: NAMES } };

/** GeoIP2/GeoLite2 City and Country, and the DB-IP / ip-location-db flat schema. */
const LOCATION_RECORD: Shape = {
  kind: 'map',
  fields: {
    country: COUNTRY,
    registered_country: COUNTRY,
    represented_country: COUNTRY,
    continent: { kind: 'map', fields: { code: ISO2, names: NAMES } },
    location: { kind: 'map', fields: { latitude: LAT, longitude: LON } },
    subdivisions: { kind: 'array', of: { kind: 'map', fields: { iso_code: { kind: 'string' }, names: NAMES } } },
    city: { kind: 'name' },
    country_code: ISO_OR_EMPTY,
    state1: { kind: 'string' },
    latitude: LAT,
    longitude: LON,
  },
};
/** Keys that make a record a location record (at least one record must have one). */
const LOCATION_KEYS = ['country', 'registered_country', 'continent', 'location', 'country_code', 'latitude'];

const ASN_RECORD: Shape = {
  kind: 'map',
  fields: { autonomous_system_number: { kind: 'uint' }, autonomous_system_organization: { kind: 'string' } },
};

/** Fixed payload sizes per type (MMDB spec "Output Data Section"); -1 = up to the bound given. */
const MAX_SIZE: Record<number, number> = { 3: 8, 5: 2, 6: 4, 8: 4, 9: 8, 10: 16, 14: 1, 15: 4 };
const TYPE_NAMES = [
  'extended',
  'pointer',
  'string',
  'double',
  'bytes',
  'uint16',
  'uint32',
  'map',
  'int32',
  'uint64',
  'uint128',
  'array',
  'data cache container',
  'end marker',
  'boolean',
  'float',
];
const MAX_DEPTH = 32;
const MAX_POINTER_CHAIN = 8;

class Invalid extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A bounds-checked reader for values in [start, end) of a buffer: the data
 * section (pointers are relative to `start`) or the metadata.
 */
export class BoundedDecoder {
  type = 0;
  size = 0;
  /** Offset of the payload of the value last read by header(). */
  payload = 0;

  constructor(
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}

  /** Decode the whole value at `off` into plain JS (for the metadata map; bounded like every read). */
  decode(off: number, depth = 0): [unknown, number] {
    if (depth > MAX_DEPTH) throw new Invalid(off, `values nest deeper than ${MAX_DEPTH}`);
    this.header(off);
    const { type, size, payload } = this;
    switch (type) {
      case 1:
        return [this.decode(this.resolve(size), depth + 1)[0], payload];
      case 2:
        return [this.string(off), payload + size];
      case 4:
        return [this.buf.subarray(payload, payload + size), payload + size];
      case 7: {
        const obj: Record<string, unknown> = {};
        let p = payload;
        for (let i = 0; i < size; i++) {
          const [k, afterKey] = this.decode(p, depth + 1);
          if (typeof k !== 'string') throw new Invalid(p, 'map key is not a string');
          const [v, afterValue] = this.decode(afterKey, depth + 1);
          obj[k] = v;
          p = afterValue;
        }
        return [obj, p];
      }
      case 11: {
        const arr: unknown[] = [];
        let p = payload;
        for (let i = 0; i < size; i++) {
          const [v, after] = this.decode(p, depth + 1);
          arr.push(v);
          p = after;
        }
        return [arr, p];
      }
      case 14:
        return [size !== 0, payload];
      default:
        return [this.number(), payload + size];
    }
  }

  private byte(off: number): number {
    if (off < this.start || off >= this.end) throw new Invalid(off, `value runs past the end of the ${this.where()}`);
    return this.buf[off];
  }

  private where(): string {
    return this.end === this.buf.length ? 'file' : 'data section';
  }

  /** Read the control byte(s) at `off`; sets type, size, payload. Pointers: size = absolute target. */
  header(off: number): void {
    const ctrl = this.byte(off);
    let p = off + 1;
    let type = ctrl >> 5;
    if (type === 0) {
      const ext = this.byte(p++);
      type = 7 + ext;
      if (ext === 0 || type > 15) throw new Invalid(off, `unknown extended type ${7 + ext}`);
    }
    if (type === 12 || type === 13) throw new Invalid(off, `a ${TYPE_NAMES[type]} cannot appear in the data section`);
    let size = ctrl & 0x1f;
    if (type === 1) {
      const ss = (size >> 3) & 3;
      const vvv = size & 7;
      let rel: number;
      if (ss === 0) rel = (vvv << 8) | this.byte(p++);
      else if (ss === 1) {
        rel = ((vvv << 16) | (this.byte(p) << 8) | this.byte(p + 1)) + 2048;
        p += 2;
      } else if (ss === 2) {
        rel = vvv * 0x1000000 + ((this.byte(p) << 16) | (this.byte(p + 1) << 8) | this.byte(p + 2)) + 526336;
        p += 3;
      } else {
        rel = this.byte(p) * 0x1000000 + ((this.byte(p + 1) << 16) | (this.byte(p + 2) << 8) | this.byte(p + 3));
        p += 4;
      }
      const target = this.start + rel;
      if (target >= this.end)
        throw new Invalid(
          off,
          `pointer to data offset ${rel} is past the end of the ${this.where()} (${this.end - this.start} bytes)`,
        );
      this.type = 1;
      this.size = target;
      this.payload = p;
      return;
    }
    if (size === 29) size = 29 + this.byte(p++);
    else if (size === 30) {
      size = 285 + ((this.byte(p) << 8) | this.byte(p + 1));
      p += 2;
    } else if (size === 31) {
      size = 65821 + ((this.byte(p) << 16) | (this.byte(p + 1) << 8) | this.byte(p + 2));
      p += 3;
    }
    const max = MAX_SIZE[type];
    if (max !== undefined && (type === 3 || type === 15 ? size !== max : size > max)) {
      throw new Invalid(
        off,
        `a ${TYPE_NAMES[type]} of ${size} bytes (${type === 3 || type === 15 ? 'must be' : 'at most'} ${max})`,
      );
    }
    // Maps and arrays count entries, booleans carry their value in the size bits: no payload.
    const payloadBytes = type === 7 || type === 11 || type === 14 ? 0 : size;
    if (p + payloadBytes > this.end)
      throw new Invalid(off, `a ${TYPE_NAMES[type]} of ${size} bytes runs past the end of the ${this.where()}`);
    this.type = type;
    this.size = size;
    this.payload = p;
  }

  /** Follow pointers from `off` to the value they denote (bounded chain). */
  resolve(off: number): number {
    for (let i = 0; i <= MAX_POINTER_CHAIN; i++) {
      this.header(off);
      if (this.type !== 1) return off;
      off = this.size;
    }
    throw new Invalid(off, `pointer chain longer than ${MAX_POINTER_CHAIN} (a pointer loop?)`);
  }

  /** The numeric value of the number last read by header(). */
  number(): number {
    const b = this.buf;
    const p = this.payload;
    switch (this.type) {
      case 3:
        return b.readDoubleBE(p);
      case 15:
        return b.readFloatBE(p);
      case 8: {
        let v = 0;
        for (let i = 0; i < this.size; i++) v = (v << 8) | b[p + i];
        return this.size === 4 ? v | 0 : v;
      }
      default: {
        let v = 0;
        for (let i = 0; i < this.size; i++) v = v * 256 + b[p + i];
        return v;
      }
    }
  }

  /** The string last read by header() (UTF-8 checked). */
  string(off: number): string {
    const bytes = this.buf.subarray(this.payload, this.payload + this.size);
    if (!isUtf8(bytes)) throw new Invalid(off, 'string is not valid UTF-8');
    return bytes.toString('utf8');
  }

  /** Offset just past the value at `off` (a pointer counts as its own bytes). */
  after(off: number): number {
    this.header(off);
    if (this.type === 1) return this.payload;
    if (this.type === 7 || this.type === 11 || this.type === 14) throw new Error('after() of a container');
    return this.payload + this.size;
  }
}

/** Checks data records: structure (bounds, types, UTF-8) and shape, each shared value once. */
class RecordChecker {
  private readonly dec: BoundedDecoder;
  /** Top-level records already checked (value 2), by absolute offset. */
  private readonly checked = new IntMap(1 << 12);
  /** Map-key strings by absolute offset: keys are stored once and pointed at. */
  private readonly keys = new Map<number, string>();
  /** Pointer targets checked, per shape they were checked against (undefined = structure only). */
  private readonly seen = new Map<Shape | undefined, IntMap>();
  private readonly roleKeys: ReadonlySet<string>;
  records = 0;
  withRoleKeys = 0;

  private seenFor(shape: Shape | undefined): IntMap {
    let m = this.seen.get(shape);
    if (!m) this.seen.set(shape, (m = new IntMap(1 << 10)));
    return m;
  }

  constructor(
    buf: Buffer,
    dataStart: number,
    dataEnd: number,
    private readonly shape: Shape,
    roleKeys: readonly string[],
  ) {
    this.dec = new BoundedDecoder(buf, dataStart, dataEnd);
    this.roleKeys = new Set(roleKeys);
  }

  /** Check the top-level record at absolute offset `off` (once per distinct offset). */
  record(off: number): void {
    if (this.checked.get(off, 0) === 2) return;
    this.checked.set(off, 2);
    this.records++;
    const at = this.dec.resolve(off);
    this.dec.header(at);
    if (this.dec.type !== 7) throw new Invalid(at, `a data record must be a map, found a ${TYPE_NAMES[this.dec.type]}`);
    this.value(at, this.shape, 0, true);
  }

  private key(off: number): string {
    const at = this.dec.resolve(off);
    let k = this.keys.get(at);
    if (k === undefined) {
      this.dec.header(at);
      if (this.dec.type !== 2) throw new Invalid(off, `map key is a ${TYPE_NAMES[this.dec.type]}, not a string`);
      k = this.dec.string(at);
      if (this.keys.size < 100_000) this.keys.set(at, k);
    }
    return k;
  }

  /** Check the value at `off` against `shape` (undefined = any); returns the offset after it. */
  private value(off: number, shape: Shape | undefined, depth: number, top = false): number {
    if (depth > MAX_DEPTH) throw new Invalid(off, `values nest deeper than ${MAX_DEPTH}`);
    const dec = this.dec;
    dec.header(off);
    if (dec.type === 1) {
      const after = dec.payload;
      const target = dec.size;
      // A shared value (a key, a country map) is checked once per shape it is used with.
      const seen = this.seenFor(shape);
      if (seen.get(target, 0) === 1) return after;
      seen.set(target, 1);
      this.value(dec.resolve(target), shape, depth + 1);
      return after;
    }
    const type = dec.type;
    const size = dec.size;
    const payload = dec.payload;
    if (shape) this.expect(off, shape, type);
    switch (type) {
      case 7: {
        const fields = shape?.kind === 'map' ? shape.fields : undefined;
        let p = payload;
        let roleKey = false;
        for (let i = 0; i < size; i++) {
          const k = this.key(p);
          p = dec.after(p);
          const sub = fields && Object.hasOwn(fields, k) ? fields[k] : undefined;
          if (top && !roleKey && this.roleKeys.has(k)) roleKey = true;
          p = this.value(p, sub, depth + 1);
        }
        if (roleKey) this.withRoleKeys++;
        return p;
      }
      case 11: {
        let p = payload;
        const of = shape?.kind === 'array' ? shape.of : undefined;
        for (let i = 0; i < size; i++) p = this.value(p, of, depth + 1);
        return p;
      }
      case 2:
        if (shape?.kind === 'string' && shape.pattern) {
          const s = dec.string(off);
          if (!shape.pattern.test(s))
            throw new Invalid(off, `expected ${shape.what ?? 'a string'}, found ${JSON.stringify(s.slice(0, 40))}`);
        } else if (!this.utf8(payload, size)) throw new Invalid(off, 'string is not valid UTF-8');
        return payload + size;
      case 14:
        return payload;
      default:
        if (shape?.kind === 'number') {
          const v = dec.number();
          if (
            !Number.isFinite(v) ||
            (shape.min !== undefined && v < shape.min) ||
            (shape.max !== undefined && v > shape.max)
          ) {
            throw new Invalid(off, `number ${v} out of range [${shape.min}, ${shape.max}]`);
          }
        }
        return payload + size;
    }
  }

  /** UTF-8 check with an ASCII fast path (most strings in these databases are ASCII). */
  private utf8(from: number, n: number): boolean {
    const b = this.dec.buf;
    for (let i = from, end = from + n; i < end; i++) if (b[i] >= 0x80) return isUtf8(b.subarray(from, end));
    return true;
  }

  private expect(off: number, shape: Shape, type: number): void {
    const ok =
      shape.kind === 'map'
        ? type === 7
        : shape.kind === 'array'
          ? type === 11
          : shape.kind === 'string'
            ? type === 2
            : shape.kind === 'name'
              ? type === 2 || type === 7
              : shape.kind === 'uint'
                ? type === 5 || type === 6 || type === 9 || type === 10
                : type === 3 || type === 15 || type === 5 || type === 6 || type === 8 || type === 9;
    if (!ok)
      throw new Invalid(
        off,
        `expected a ${shape.kind === 'name' ? 'string or map' : shape.kind === 'uint' ? 'unsigned integer' : shape.kind}, found a ${TYPE_NAMES[type]}`,
      );
  }
}

type TreeFault = 'deep' | 'loop' | 'deep-shared' | 'separator' | 'past-end';

/** Throw the precise reason for a bad record (kept out of the walk loop so that loop stays small). */
function fail(
  db: MmdbFile,
  node: number,
  bit: number,
  r: number,
  depth: number,
  fault: TreeFault,
  bound: number,
): never {
  const at = (node * db.metadata.recordSize) / 4;
  const rec = `node ${node} (depth ${depth}) ${bit === 0 ? 'left' : 'right'} record (${r})`;
  switch (fault) {
    case 'loop':
      throw new Invalid(
        at,
        `the search tree loops: ${rec} points back to node ${r}, which is on the path from the root`,
      );
    case 'deep':
      throw new Invalid(
        at,
        `the search tree is deeper than ${bound} bits: ${rec} is a child node below the last address bit`,
      );
    case 'deep-shared':
      throw new Invalid(
        at,
        `the search tree is deeper than ${bound} bits: ${rec} reaches a shared subtree too deep to fit`,
      );
    case 'separator':
      throw new Invalid(at, `${rec} points into the 16-byte separator after the tree`);
    case 'past-end':
      throw new Invalid(
        at,
        `${rec} points past the end of the data section (offset ${r - db.nodeCount - 16} of ${bound} bytes)`,
      );
  }
}

/** Where the data section and the metadata lie in a file whose metadata says `nodeCount` / `recordSize`. */
export interface DatabaseLayout {
  treeBytes: number;
  dataStart: number;
  /** Offset of the metadata marker: the data section ends here. */
  dataEnd: number;
}

/**
 * Validate `db` for `role`. Throws GeoDatabaseError naming the file, the byte
 * offset and what is wrong; returns counts for logs and tests.
 */
export function validateDatabase(
  db: MmdbFile,
  role: DatabaseRole,
  layout: DatabaseLayout,
): { nodes: number; records: number } {
  try {
    return walk(db, role, layout);
  } catch (err) {
    if (err instanceof Invalid) throw new GeoDatabaseError(db.file, err.message, err.offset);
    throw err;
  }
}

function walk(db: MmdbFile, role: DatabaseRole, layout: DatabaseLayout): { nodes: number; records: number } {
  const n = db.nodeCount;
  const bits = db.metadata.ipVersion === 4 ? 32 : 128;
  const { treeBytes, dataStart, dataEnd } = layout;
  const buf = db.buf;
  for (let i = 0; i < 16; i++) {
    if (buf[treeBytes + i] !== 0) {
      throw new Invalid(
        treeBytes + i,
        `the metadata's node_count (${n}) does not match the file: the 16 bytes after the search tree are not the zero separator`,
      );
    }
  }
  const checker = new RecordChecker(
    buf,
    dataStart,
    dataEnd,
    role === 'asn' ? ASN_RECORD : LOCATION_RECORD,
    role === 'asn' ? ['autonomous_system_number'] : LOCATION_KEYS,
  );
  const dataSize = dataEnd - dataStart;
  // state[node]: 0 unvisited, 1 on the current path, 2 + height when done (height <= 128).
  // An explicit stack of at most `bits` nodes: its depth is the path length, so the bound is structural.
  const state = new Uint8Array(n);
  const stackNode = new Int32Array(bits + 1);
  const stackBit = new Uint8Array(bits + 1);
  const stackHeight = new Uint8Array(bits + 1);
  let reached = 1;
  let sp = 0;
  state[0] = 1;
  while (sp >= 0) {
    const node = stackNode[sp];
    const bit = stackBit[sp];
    if (bit === 2) {
      // Both records done: the node's height is known; the parent's height covers it.
      const h = stackHeight[sp];
      state[node] = 2 + h;
      sp--;
      if (sp >= 0 && h + 1 > stackHeight[sp]) stackHeight[sp] = h + 1;
      continue;
    }
    stackBit[sp] = bit + 1;
    const r = db.record(node, bit);
    if (r < n) {
      const s = state[r];
      if (s === 0) {
        if (sp + 1 >= bits) fail(db, node, bit, r, sp, 'deep', bits);
        state[r] = 1;
        reached++;
        sp++;
        stackNode[sp] = r;
        stackBit[sp] = 0;
        stackHeight[sp] = 0;
      } else if (s === 1) {
        fail(db, node, bit, r, sp, 'loop', bits);
      } else {
        // A shared subtree (IPv4 aliases): checked already; only its height must fit below this depth.
        if (sp + 1 + (s - 2) > bits) fail(db, node, bit, r, sp, 'deep-shared', bits);
        if (s - 1 > stackHeight[sp]) stackHeight[sp] = s - 1;
      }
      continue;
    }
    if (r === n) continue;
    const rel = r - n - 16;
    if (rel < 0 || rel >= dataSize) fail(db, node, bit, r, sp, rel < 0 ? 'separator' : 'past-end', dataSize);
    checker.record(dataStart + rel);
  }
  if (reached !== n)
    throw new Invalid(0, `the metadata's node_count is ${n} but ${reached} nodes are reachable from the root`);
  if (checker.records > 0 && checker.withRoleKeys === 0) {
    const what = role === 'asn' ? 'autonomous_system_number' : 'country, continent, location, country_code or latitude';
    throw new Invalid(
      dataStart,
      `none of the ${checker.records} records has ${what}: not ${role === 'asn' ? 'an ASN' : 'a city or country'} database (database_type "${db.metadata.databaseType}")`,
    );
  }
  return { nodes: reached, records: checker.records };
}
