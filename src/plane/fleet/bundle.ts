/**
 * Config bundles: what `meridian publish` stores and `fleet.config: follow`
 * runs. A bundle carries the config YAML, its zone files and latency table by
 * content (paths relative to the config file's directory), and the geo
 * databases by path and sha256 only (they are large, licensed per host, and
 * updated by geoipupdate on each host). Following a bundle writes it to its
 * own directory, `<state_dir>/v<version>/`, byte for byte, so the existing
 * loader and reload path read it like any config; a database that is missing
 * or different on this host refuses the bundle (FleetBundleError) and the
 * instance keeps its last good version.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FleetBundleError } from '../../errors.js';

/** A path inside the bundle: relative, no `..`, no empty segments. */
const bundlePath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).some((s) => s === '..' || s === '' || s === '.'), {
    error: 'expected a relative path inside the config directory',
  });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const bundleSchema = z.object({
  format: z.literal(1),
  /** Assigned by publish (0 before). */
  version: z.number().int().nonnegative(),
  published_at: z.number(),
  published_by: z.string(),
  /** The config file, one of `files`. */
  config: bundlePath,
  files: z.array(z.object({ path: bundlePath, sha256: sha256Hex, content: z.string() })),
  /** Geo databases: the path as the YAML writes it, where it was on the publisher, and its digest. */
  databases: z.array(
    z.object({
      path: z.string().min(1),
      resolved: z.string().min(1),
      sha256: sha256Hex,
      size: z.number().int().nonnegative(),
    }),
  ),
});
export type ConfigBundle = z.output<typeof bundleSchema>;

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of a file, streamed (geo databases run to hundreds of MB). */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export interface BundleSources {
  /** The config file. */
  configFile: string;
  /** Zone files and the latency table (absolute, or relative to the config file's directory). */
  files: readonly string[];
  /** Geo databases: as written in the YAML, and resolved on this host. */
  databases: ReadonlyArray<{ path: string; resolved: string }>;
  publishedBy: string;
}

/**
 * Read a config and its files into a bundle. Content files must sit in the
 * config's directory tree (the bundle recreates that tree on each follower);
 * anything else is refused with the offending path.
 */
export async function buildBundle(src: BundleSources, now = Date.now()): Promise<ConfigBundle> {
  const dir = path.dirname(path.resolve(src.configFile));
  const problems: string[] = [];
  const files: ConfigBundle['files'] = [];
  const seen = new Set<string>();
  for (const f of [src.configFile, ...src.files]) {
    const abs = path.resolve(dir, f);
    const rel = path.relative(dir, abs).split(path.sep).join('/');
    if (seen.has(rel)) continue;
    seen.add(rel);
    if (!bundlePath.safeParse(rel).success) {
      problems.push(
        `${f}: a published config's files must be inside ${dir} (the bundle recreates that directory on every instance)`,
      );
      continue;
    }
    const bytes = await readFile(abs);
    files.push({ path: rel, sha256: sha256(bytes), content: bytes.toString('base64') });
  }
  const databases: ConfigBundle['databases'] = [];
  for (const d of src.databases) {
    const resolved = path.resolve(dir, d.resolved);
    databases.push({ path: d.path, resolved, sha256: await sha256File(resolved), size: (await stat(resolved)).size });
  }
  if (problems.length) throw new FleetBundleError(0, problems);
  return {
    format: 1,
    version: 0,
    published_at: now,
    published_by: src.publishedBy,
    config: files[0].path,
    files,
    databases,
  };
}

export function encodeBundle(b: ConfigBundle): Buffer {
  return Buffer.from(JSON.stringify(b), 'utf8');
}

/** Decode and check a bundle: schema, and every file against its digest. */
export function decodeBundle(bytes: Uint8Array, version = 0): ConfigBundle {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw new FleetBundleError(version, ['not JSON']);
  }
  const r = bundleSchema.safeParse(json);
  if (!r.success)
    throw new FleetBundleError(
      version,
      r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  const problems = r.data.files
    .filter((f) => sha256(Buffer.from(f.content, 'base64')) !== f.sha256)
    .map((f) => `${f.path}: content does not match its sha256`);
  if (!r.data.files.some((f) => f.path === r.data.config))
    problems.push(`the config file ${r.data.config} is not in the bundle`);
  if (problems.length) throw new FleetBundleError(version || r.data.version, problems);
  return r.data;
}

/** Check that every geo database of the bundle is on this host with the same content. */
export async function checkDatabases(bundle: ConfigBundle): Promise<string[]> {
  const problems: string[] = [];
  for (const d of bundle.databases) {
    let digest: string;
    try {
      digest = await sha256File(d.resolved);
    } catch (err) {
      problems.push(
        `geo database ${d.resolved}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing on this host' : (err as Error).message}`,
      );
      continue;
    }
    if (digest !== d.sha256)
      problems.push(
        `geo database ${d.resolved}: sha256 ${digest.slice(0, 12)}... differs from the published ${d.sha256.slice(0, 12)}...`,
      );
  }
  return problems;
}

/**
 * Write `bundle` to `<stateDir>/v<version>/` (built beside it, renamed into
 * place whole) and return the config file's path there. Relative database
 * paths get a symlink to where the publisher had them, so the YAML, kept
 * byte for byte, resolves them as on the publisher. Throws FleetBundleError
 * (and writes nothing) when a database is missing or different here.
 */
export async function materializeBundle(bundle: ConfigBundle, stateDir: string): Promise<string> {
  const problems = await checkDatabases(bundle);
  if (problems.length) throw new FleetBundleError(bundle.version, problems);
  const final = path.join(stateDir, `v${bundle.version}`);
  const tmp = path.join(stateDir, `.v${bundle.version}-${process.pid}-${Date.now()}`);
  await rm(tmp, { recursive: true, force: true });
  for (const f of bundle.files) {
    const out = path.join(tmp, ...f.path.split('/'));
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, Buffer.from(f.content, 'base64'));
  }
  for (const d of bundle.databases) {
    if (path.isAbsolute(d.path) || !bundlePath.safeParse(d.path).success) continue;
    const link = path.join(tmp, ...d.path.split('/'));
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(d.resolved, link);
  }
  // A version is immutable once published: an existing directory is the same bytes, replace it whole.
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  return path.join(final, ...bundle.config.split('/'));
}
