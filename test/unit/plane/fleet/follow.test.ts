/**
 * ConfigFollower (src/plane/fleet/follow.ts) with the link replaced by a recorder:
 * versions arriving while one is being applied are coalesced (only the newest
 * runs next), a refused version keeps the last good one and is reported with
 * the reason, current.json always names what runs, and the same version is
 * never applied twice.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256, type ConfigBundle } from '../../../../src/plane/fleet/bundle.js';
import { ConfigFollower, readCurrent } from '../../../../src/plane/fleet/follow.js';
import type { FleetLink } from '../../../../src/plane/fleet/link.js';
import { tempDir } from '../../../helpers/server.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function bundle(version: number): ConfigBundle {
  const text = `# v${version}\nzones: []\n`;
  return {
    format: 1,
    version,
    published_at: 0,
    published_by: 'test',
    config: 'meridian.yaml',
    files: [{ path: 'meridian.yaml', sha256: sha256(text), content: Buffer.from(text).toString('base64') }],
    databases: [],
  };
}

/** The two things a follower uses of a link: bundles in, running config out. */
function fakeLink() {
  const reports: Array<[number | null, string | null, string | null]> = [];
  let deliver: (b: ConfigBundle) => void = () => undefined;
  const link = {
    onBundle: (fn: (b: ConfigBundle) => void) => (deliver = fn),
    setRunningConfig: (v: number | null, sha: string | null, err: string | null = null) => reports.push([v, sha, err]),
  } as unknown as FleetLink;
  return { link, reports, deliver: (b: ConfigBundle) => deliver(b) };
}

describe('ConfigFollower', () => {
  it('coalesces versions that arrive while one is applied, and records what runs', async () => {
    const stateDir = tempDir('meridian-follow-');
    dirs.push(stateDir);
    const { link, reports, deliver } = fakeLink();
    const applied: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const follower = new ConfigFollower(link, {
      stateDir,
      apply: async (file, b) => {
        applied.push(b.version);
        if (b.version === 1) await gate;
        return { sha256: sha256(readFileSync(file)) };
      },
    });
    deliver(bundle(1));
    deliver(bundle(2));
    deliver(bundle(3));
    release();
    await follower.settled();
    expect(applied).toEqual([1, 3]);
    expect(follower.current()).toEqual({ version: 3, file: path.join(stateDir, 'v3', 'meridian.yaml') });
    expect(await readCurrent(stateDir)).toEqual(follower.current());
    expect(reports.map((r) => r[0])).toEqual([1, 3]);
    // The running version offered again (a resync) is not applied again.
    deliver(bundle(3));
    await follower.settled();
    expect(applied).toEqual([1, 3]);
  });

  it('a refused version keeps the last good one, reported with its reason', async () => {
    const stateDir = tempDir('meridian-follow-');
    dirs.push(stateDir);
    const { link, reports, deliver } = fakeLink();
    const follower = new ConfigFollower(link, {
      stateDir,
      apply: async (file, b) => {
        if (b.version === 2) throw new Error(`${file}:3:1: zones: expected an array\nsecond line`);
        return { sha256: 'a'.repeat(64) };
      },
    });
    deliver(bundle(1));
    await follower.settled();
    deliver(bundle(2));
    await follower.settled();
    expect(follower.current()?.version).toBe(1);
    expect((await readCurrent(stateDir))?.version).toBe(1);
    expect(reports[1][0]).toBe(1);
    expect(reports[1][1]).toBe('a'.repeat(64));
    expect(reports[1][2]).toBe(
      `v2: ${path.join(stateDir, 'v2', 'meridian.yaml')}:3:1: zones: expected an array; second line`,
    );
  });

  it('reads nothing from a state directory without a good version', async () => {
    const stateDir = tempDir('meridian-follow-');
    dirs.push(stateDir);
    expect(await readCurrent(stateDir)).toBeNull();
  });
});
