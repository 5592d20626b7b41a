/**
 * A publisher's config directory for the config-bundle tests: meridian.yaml
 * with a zone file (zones/example.org.zone) and a geo database written by a
 * relative path (geo/city.mmdb, a copy of the fixture), as users lay them out.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CITY_DB, popsYaml } from './configs.js';
import { ROOT, tempDir } from './server.js';

export interface PublisherDir {
  dir: string;
  configFile: string;
  /** The database's absolute path. */
  db: string;
}

export function publisherDir(): PublisherDir {
  const dir = tempDir('meridian-publish-');
  mkdirSync(path.join(dir, 'zones'));
  mkdirSync(path.join(dir, 'geo'));
  const db = path.join(dir, 'geo', 'city.mmdb');
  copyFileSync(CITY_DB, db);
  writeFileSync(
    path.join(dir, 'zones', 'example.org.zone'),
    readFileSync(path.join(ROOT, 'test', 'fixtures', 'zones', 'example.org.zone')),
  );
  const configFile = path.join(dir, 'meridian.yaml');
  writeFileSync(
    configFile,
    `geo:\n  databases: [geo/city.mmdb]\npops:\n${popsYaml()}\npolicies:\n  near: { steps: [ { nearest: null } ] }\nzones:\n  - origin: example.org.\n    file: zones/example.org.zone\n    geo:\n      edge: { policy: near }\n`,
  );
  return { dir, configFile, db };
}
