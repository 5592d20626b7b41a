/**
 * `meridian publish --config FILE`: validate and compile the config exactly
 * as `serve` would (any problem: every one as file:line:column, exit 1,
 * nothing published), then store it as the fleet's next config version
 * (plane/publish.ts). Instances with `fleet.config: follow` run it.
 */
import { buildSnapshotFromFile, type Snapshot } from '../build/snapshot.js';
import { MeridianError } from '../errors.js';
import { publishConfig } from '../plane/publish.js';
import { reportBuildError } from './check.js';

export async function publishCommand(
  file: string,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  let snapshot: Snapshot;
  try {
    snapshot = buildSnapshotFromFile(file);
  } catch (e) {
    reportBuildError(file, e, err);
    err(`${file}: not published`);
    return 1;
  }
  try {
    const { pointer, files, databases } = await publishConfig(snapshot);
    out(
      `${file}: published as config version ${pointer.version} (sha256 ${pointer.sha256.slice(0, 16)}, ${pointer.size} bytes)`,
    );
    out(`  files:     ${files.join(', ')}`);
    if (databases.length) out(`  databases: ${databases.join(', ')} (by path and sha256: each host has its own copy)`);
    out('  instances with fleet.config: follow run it now; GET /admin/fleet shows who runs which version');
    return 0;
  } catch (e) {
    if (!(e instanceof MeridianError)) throw e;
    err(`${file}: ${e.message}`);
    err(`${file}: not published`);
    return 1;
  }
}
