/**
 * `meridian publish`: store a compiled config as the fleet's next version.
 * The caller has validated and compiled it (a config that does not build is
 * never published); this reads its files into a bundle (build side: zone
 * files and the latency table by content, geo databases by path and sha256),
 * connects to the fleet's NATS servers as a client only (not a member: no
 * heartbeat, no probes) and publishes. Followers (`fleet.config: follow`)
 * run it through their reload path (docs/fleet.md).
 */
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Snapshot } from '../build/snapshot.js';
import { FleetError } from '../errors.js';
import { silentLogger } from '../util/logger.js';
import { buildBundle } from './fleet/bundle.js';
import type { BundlePointer } from './fleet/keys.js';
import { FleetLink } from './fleet/link.js';

/** How long publish waits for NATS before it gives up (nothing published). */
const CONNECT_TIMEOUT_MS = 10_000;

export interface Published {
  pointer: BundlePointer;
  files: string[];
  databases: string[];
}

/** Publish `snapshot`'s config (built from `file`) to the fleet its `fleet:` section names. */
export async function publishConfig(snapshot: Snapshot, log: Logger = silentLogger()): Promise<Published> {
  const config = snapshot.config;
  if (!config.fleet)
    throw new FleetError(
      `${snapshot.file} has no fleet: section: it does not say which NATS servers to publish to (docs/fleet.md)`,
    );
  const dir = path.dirname(path.resolve(snapshot.file));
  const files = [
    ...config.zones.filter((z) => z.file).map((z) => path.resolve(dir, z.file!)),
    ...(snapshot.latencyTable ? [snapshot.latencyTable] : []),
  ];
  const written = [...config.geo.databases, ...(config.geo.asn_database ? [config.geo.asn_database] : [])];
  const databases = written.map((p) => ({ path: p, resolved: path.resolve(dir, p) }));
  const publishedBy = `${os.userInfo().username}@${os.hostname()}`;
  const bundle = await buildBundle({ configFile: snapshot.file, files, databases, publishedBy });
  const link = FleetLink.start({
    config: config.fleet,
    instance: `publish-${os.hostname()}-${process.pid}`,
    baseDir: dir,
    pops: [],
    log,
    member: false,
  });
  try {
    await link.synchronized(CONNECT_TIMEOUT_MS);
    const pointer = await link.publishBundle(bundle);
    return { pointer, files: bundle.files.map((f) => f.path), databases: bundle.databases.map((d) => d.resolved) };
  } finally {
    await link.close();
  }
}
