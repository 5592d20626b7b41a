/**
 * Config bundles (src/plane/fleet/bundle.ts) on real files: a config with a zone
 * file and a geo database (one by a relative path, as users write it) is
 * bundled, damaged copies are refused, and the bundle is written to its
 * version directory where the existing compiler (buildSnapshotFromFile, what
 * `meridian check` and reloads run) reads it as it read the original. A
 * database missing or different on the follower refuses the bundle and
 * writes nothing.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetBundleError } from '../../../../src/errors.js';
import {
  buildBundle,
  decodeBundle,
  encodeBundle,
  materializeBundle,
  sha256,
} from '../../../../src/plane/fleet/bundle.js';
import { buildSnapshotFromFile } from '../../../../src/build/snapshot.js';
import { CITY_DB } from '../../../helpers/configs.js';
import { publisherDir as makePublisherDir, type PublisherDir } from '../../../helpers/fleet-config.js';
import { tempDir } from '../../../helpers/server.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function publisherDir(): PublisherDir {
  const p = makePublisherDir();
  dirs.push(p.dir);
  return p;
}

describe('config bundles', () => {
  it('carries the YAML and zone files by content and the databases by path and sha256', async () => {
    const { configFile, db } = publisherDir();
    const b = await buildBundle(
      {
        configFile,
        files: ['zones/example.org.zone'],
        databases: [{ path: 'geo/city.mmdb', resolved: db }],
        publishedBy: 'ns1',
      },
      42,
    );
    expect(b.config).toBe('meridian.yaml');
    expect(b.files.map((f) => f.path)).toEqual(['meridian.yaml', 'zones/example.org.zone']);
    expect(b.files[0].sha256).toBe(sha256(readFileSync(configFile)));
    expect(b.databases).toEqual([
      {
        path: 'geo/city.mmdb',
        resolved: db,
        sha256: sha256(readFileSync(CITY_DB)),
        size: readFileSync(CITY_DB).length,
      },
    ]);
    expect(b.published_at).toBe(42);
    expect(decodeBundle(encodeBundle(b))).toEqual(b);
  });

  it('refuses a content file outside the config directory, naming it', async () => {
    const { configFile } = publisherDir();
    const outside = tempDir('meridian-outside-');
    dirs.push(outside);
    writeFileSync(path.join(outside, 'x.zone'), '');
    const err = await buildBundle({
      configFile,
      files: [path.join(outside, 'x.zone')],
      databases: [],
      publishedBy: 'ns1',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetBundleError);
    expect((err as FleetBundleError).message).toContain('x.zone');
  });

  it('refuses damaged bundles: not JSON, wrong shape, content that does not match its digest, a path escaping the directory', async () => {
    const { configFile } = publisherDir();
    const b = await buildBundle({ configFile, files: [], databases: [], publishedBy: 'ns1' });
    expect(() => decodeBundle(Buffer.from('{'))).toThrow(FleetBundleError);
    expect(() => decodeBundle(encodeBundle({ ...b, format: 2 as 1 }))).toThrow(/format/);
    const tampered = { ...b, files: [{ ...b.files[0], content: Buffer.from('zones: []').toString('base64') }] };
    expect(() => decodeBundle(encodeBundle(tampered), 7)).toThrow(
      /v7: meridian.yaml: content does not match its sha256/,
    );
    const escaping = { ...b, files: [{ ...b.files[0], path: '../meridian.yaml' }], config: '../meridian.yaml' };
    expect(() => decodeBundle(encodeBundle(escaping))).toThrow(/relative path inside/);
  });

  it('is written to <state_dir>/v<version>/ and compiles there as the original does', async () => {
    const { configFile, db } = publisherDir();
    const b = {
      ...(await buildBundle({
        configFile,
        files: ['zones/example.org.zone'],
        databases: [{ path: 'geo/city.mmdb', resolved: db }],
        publishedBy: 'ns1',
      })),
      version: 3,
    };
    const state = tempDir('meridian-follow-');
    dirs.push(state);
    const file = await materializeBundle(decodeBundle(encodeBundle(b)), state);
    expect(file).toBe(path.join(state, 'v3', 'meridian.yaml'));
    expect(readFileSync(file)).toEqual(readFileSync(configFile));
    const original = buildSnapshotFromFile(configFile);
    const followed = buildSnapshotFromFile(file);
    expect(followed.zones.map((z) => [z.origin, z.records.length])).toEqual(
      original.zones.map((z) => [z.origin, z.records.length]),
    );
    expect(followed.pops.map((p) => p.id)).toEqual(original.pops.map((p) => p.id));
    expect(followed.databases.map((d) => d.databaseType)).toEqual(original.databases.map((d) => d.databaseType));
    // Written again (same version): replaced whole, no leftovers.
    await materializeBundle(b, state);
    expect(readdirSync(state)).toEqual(['v3']);
  });

  it('a database missing or different on this host refuses the bundle and writes nothing', async () => {
    const { configFile, db } = publisherDir();
    const b = {
      ...(await buildBundle({
        configFile,
        files: [],
        databases: [{ path: 'geo/city.mmdb', resolved: db }],
        publishedBy: 'ns1',
      })),
      version: 4,
    };
    const state = tempDir('meridian-follow-');
    dirs.push(state);
    writeFileSync(db, 'not the same database');
    await expect(materializeBundle(b, state)).rejects.toThrow(
      /v4: geo database .*city\.mmdb: sha256 .* differs from the published/,
    );
    rmSync(db);
    const err = await materializeBundle(b, state).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MERIDIAN_ERR_FLEET_BUNDLE', version: 4 });
    expect((err as FleetBundleError).problems).toEqual([`geo database ${db}: missing on this host`]);
    expect(existsSync(path.join(state, 'v4'))).toBe(false);
  });
});
