/**
 * Open the configured geo databases and pick, per address family, the tree
 * the compiler walks: the first city/country database that covers the family
 * (an IPv4 file, or IPv4 under ::/96 in an IPv6 file; DB-IP ships two files),
 * and the ASN database if any.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GeoDatabaseError } from '../errors.js';
import { MmdbFile } from './mmdb.js';

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

function open(file: string): { db: MmdbFile; info: GeoDatabaseInfo } {
  let buf: Buffer;
  let st;
  try {
    st = statSync(file);
    buf = readFileSync(file);
  } catch (err) {
    throw new GeoDatabaseError(file, `cannot read: ${(err as Error).message}`);
  }
  const db = new MmdbFile(buf, file);
  const m = db.metadata;
  return {
    db,
    info: { file, databaseType: m.databaseType, ipVersion: m.ipVersion, buildEpoch: m.buildEpoch, nodeCount: m.nodeCount, size: st.size, mtimeMs: st.mtimeMs, usedFor: [] },
  };
}

/** Open city/country databases (in order) and the optional ASN database. Throws GeoDatabaseError. */
export function openDatabases(cityFiles: readonly string[], asnFile: string | null): OpenedDatabases {
  const out: OpenedDatabases = { city4: null, city6: null, asn4: null, asn6: null, infos: [] };
  const opened = cityFiles.map(open);
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
    const { db, info } = open(asnFile);
    info.usedFor.push('asn');
    out.infos.push(info);
    out.asn4 = { db, root: db.ipv4Root() };
    if (db.metadata.ipVersion === 6) out.asn6 = { db, root: 0 };
  }
  return out;
}
