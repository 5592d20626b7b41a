/**
 * Open the configured geo databases and pick, per address family, the tree
 * the compiler walks: the first city/country database that covers the family
 * (an IPv4 file, or IPv4 under ::/96 in an IPv6 file; DB-IP ships two files),
 * and the ASN database if any.
 */
import { closeSync, fstatSync, openSync, readFileSync, promises as fsp, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GeoDatabaseError } from '../errors.js';
import { MmdbFile } from './mmdb.js';
import type { DatabaseRole } from './validate.js';

const require = createRequire(import.meta.url);

/** Resolve a database path: `package:<npm path>` from installed packages, else relative to the config. */
export function resolveDatabasePath(spec: string, configDir: string): string {
  if (spec.startsWith('package:')) {
    const rest = spec.slice('package:'.length);
    try {
      return require.resolve(rest);
    } catch {
      throw new GeoDatabaseError(spec, `package file not found (is the package installed? npm ci)`);
    }
  }
  return path.resolve(configDir, spec);
}

export interface GeoDatabaseInfo {
  file: string;
  databaseType: string;
  ipVersion: number;
  buildEpoch: number;
  nodeCount: number;
  size: number;
  mtimeMs: number;
  ino: number;
  /** Which families the compiler takes from this file. */
  usedFor: string[];
}

export interface OpenedTree {
  db: MmdbFile;
  root: number;
}

export interface OpenedDatabases {
  city4: OpenedTree | null;
  city6: OpenedTree | null;
  asn4: OpenedTree | null;
  asn6: OpenedTree | null;
  infos: GeoDatabaseInfo[];
}

/** Does the tree have any data at all from `root` (not just "no data" records)? */
function hasData(db: MmdbFile, root: number): boolean {
  if (root < 0) return false;
  const stack = [root];
  for (let seen = 0; stack.length > 0 && seen < 10_000; seen++) {
    const node = stack.pop()!;
    for (const bit of [0, 1]) {
      const r = db.record(node, bit);
      if (r > db.nodeCount) return true;
      if (r < db.nodeCount) stack.push(r);
    }
  }
  return stack.length > 0;
}

interface FileBytes {
  buf: Buffer;
  st: Stats;
}

/** Read a file; identity and bytes from one open file, so a rename over the path cannot slip in between. */
function readSync(file: string): FileBytes {
  try {
    const fd = openSync(file, 'r');
    try {
      return { st: fstatSync(fd), buf: readFileSync(fd) };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new GeoDatabaseError(file, `cannot read: ${(err as Error).message}`);
  }
}

async function readAsync(file: string): Promise<FileBytes> {
  try {
    const fh = await fsp.open(file, 'r');
    try {
      return { st: await fh.stat(), buf: await fh.readFile() };
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new GeoDatabaseError(file, `cannot read: ${(err as Error).message}`);
  }
}

function open(
  file: string,
  bytes: FileBytes,
  role: DatabaseRole | null,
  opts: OpenOptions,
): { db: MmdbFile; info: GeoDatabaseInfo } {
  const { buf, st } = bytes;
  const db = new MmdbFile(buf, file);
  const info: GeoDatabaseInfo = {
    file,
    databaseType: db.metadata.databaseType,
    ipVersion: db.metadata.ipVersion,
    buildEpoch: db.metadata.buildEpoch,
    nodeCount: db.metadata.nodeCount,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ino: st.ino,
    usedFor: [],
  };
  const known = opts.validated?.has(databaseIdentity(info)) ?? false;
  if (!known && opts.onlyValidated) {
    throw new GeoDatabaseError(
      file,
      'changed on disk since the running configuration was compiled (a reload is pending, failed or held): answers come from the running database; reload first',
    );
  }
  if (role && !known && opts.validate !== false) db.validate(role);
  return { db, info };
}

/** A database file's identity (path, size, mtime, inode): equal identities, same bytes as far as reloads go. */
export function databaseIdentity(d: Pick<GeoDatabaseInfo, 'file' | 'size' | 'mtimeMs' | 'ino'>): string {
  return `${d.file}|${d.size}|${d.mtimeMs}|${d.ino}`;
}

export interface OpenOptions {
  /** Validate every file (tree, records, schema) before use; default true. */
  validate?: boolean;
  /** Identities (databaseIdentity) already validated by an earlier compile: not walked again. */
  validated?: ReadonlySet<string>;
  /** Refuse files whose identity is not in `validated` (explain and the map use the running databases only). */
  onlyValidated?: boolean;
}

/**
 * Open city/country databases (in order) and the optional ASN database,
 * validating each (see validate.ts) unless told otherwise. Throws GeoDatabaseError.
 */
export function openDatabases(
  cityFiles: readonly string[],
  asnFile: string | null,
  opts: OpenOptions = {},
): OpenedDatabases {
  return assemble(cityFiles, asnFile, readSync, opts);
}

/** openDatabases with the files read off the event loop (explain and the live map in a serving process). */
export async function openDatabasesAsync(
  cityFiles: readonly string[],
  asnFile: string | null,
  opts: OpenOptions = {},
): Promise<OpenedDatabases> {
  const files = [...cityFiles, ...(asnFile ? [asnFile] : [])];
  const read = new Map(await Promise.all(files.map(async (f) => [f, await readAsync(f)] as const)));
  return assemble(cityFiles, asnFile, (f) => read.get(f)!, opts);
}

function assemble(
  cityFiles: readonly string[],
  asnFile: string | null,
  read: (file: string) => FileBytes,
  opts: OpenOptions,
): OpenedDatabases {
  const out: OpenedDatabases = { city4: null, city6: null, asn4: null, asn6: null, infos: [] };
  const opened = cityFiles.map((f) => open(f, read(f), 'location', opts));
  out.infos.push(...opened.map((o) => o.info));
  // IPv4: a dedicated IPv4 file wins over IPv4 kept under ::/96 of an IPv6 file
  // (DB-IP ships two files; an IPv6 file's few ::/96 entries are not a database).
  const v4file = opened.find((o) => o.db.metadata.ipVersion === 4);
  const v4source = v4file ?? opened.find((o) => hasData(o.db, o.db.ipv4Root()));
  if (v4source) {
    out.city4 = { db: v4source.db, root: v4source.db.ipv4Root() };
    v4source.info.usedFor.push('ipv4');
  }
  const v6source = opened.find((o) => o.db.metadata.ipVersion === 6);
  if (v6source) {
    out.city6 = { db: v6source.db, root: 0 };
    v6source.info.usedFor.push('ipv6');
  }
  if (asnFile) {
    const { db, info } = open(asnFile, read(asnFile), 'asn', opts);
    info.usedFor.push('asn');
    out.infos.push(info);
    out.asn4 = { db, root: db.ipv4Root() };
    if (db.metadata.ipVersion === 6) out.asn6 = { db, root: 0 };
  }
  return out;
}
