/**
 * watchFiles on a real directory: in-place writes and rename-over writes
 * (the way geoipupdate, editors and deploy tools replace files) each fire
 * once after the debounce; files in the same directory that are not watched
 * (geoipupdate's `.temporary` download, its lock file) never fire; and a
 * change that lands while the caller is busy reloading, just before it
 * calls setFiles, is not lost.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchFiles, type FileWatcher } from '../../../src/plane/watch.js';
import { until } from '../../helpers/dns.js';
import { tempDir } from '../../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function setup(names: string[]): {
  dir: string;
  files: string[];
  calls: string[][];
  watcher: (onChange?: (changed: string[]) => void) => FileWatcher;
} {
  const dir = tempDir('meridian-watch-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const files = names.map((n) => path.join(dir, n));
  files.forEach((f, i) => writeFileSync(f, `v0 ${i}`));
  const calls: string[][] = [];
  return {
    dir,
    files,
    calls,
    watcher: (onChange) => {
      const w = watchFiles(files, onChange ?? ((c) => calls.push(c.map((f) => path.basename(f)))), 50, 500);
      cleanups.push(() => w.close());
      return w;
    },
  };
}

/** Replace `file` the way geoipupdate does: write `<file>.temporary`, then rename it over. */
function renameOver(file: string, text: string): void {
  writeFileSync(`${file}.temporary`, text);
  renameSync(`${file}.temporary`, file);
}

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('watchFiles', () => {
  it('an in-place write and a rename-over each fire once; unwatched neighbours never do', async () => {
    const { dir, files, calls, watcher } = setup(['GeoLite2-City.mmdb', 'GeoLite2-ASN.mmdb']);
    watcher();
    writeFileSync(path.join(dir, '.geoipupdate.lock'), '');
    writeFileSync(`${files[0]}.temporary`, 'partial download');
    await settle();
    expect(calls).toEqual([]);
    renameSync(`${files[0]}.temporary`, files[0]);
    await until(() => calls.length === 1, 'the rename fires');
    expect(calls).toEqual([['GeoLite2-City.mmdb']]);
    writeFileSync(files[1], 'v1 in place');
    await until(() => calls.length === 2, 'the in-place write fires');
    expect(calls[1]).toEqual(['GeoLite2-ASN.mmdb']);
    rmSync(path.join(dir, '.geoipupdate.lock'));
    await settle();
    expect(calls).toHaveLength(2);
  });

  it('a burst (City then ASN within the debounce) is one callback naming both', async () => {
    const { files, calls, watcher } = setup(['GeoLite2-City.mmdb', 'GeoLite2-ASN.mmdb']);
    watcher();
    renameOver(files[0], 'v1');
    renameOver(files[1], 'v1');
    await until(() => calls.length === 1, 'one callback');
    await settle();
    expect(calls.map((c) => [...c].sort())).toEqual([['GeoLite2-ASN.mmdb', 'GeoLite2-City.mmdb']]);
  });

  it('a change that lands while the caller reloads, just before it calls setFiles, still fires', async () => {
    const { files, calls, watcher } = setup(['GeoLite2-City.mmdb', 'GeoLite2-ASN.mmdb']);
    let w: FileWatcher | null = null;
    w = watcher((changed) => {
      calls.push(changed.map((f) => path.basename(f)));
      if (calls.length === 1) {
        // The reload for City runs; meanwhile the ASN database is replaced, and the
        // reload ends by re-arming the watcher with the same files.
        renameOver(files[1], 'v1 during the reload');
        w!.setFiles(files);
      }
    });
    renameOver(files[0], 'v1');
    await until(() => calls.length === 2, 'the ASN change fires after setFiles', 3000);
    expect(calls).toEqual([['GeoLite2-City.mmdb'], ['GeoLite2-ASN.mmdb']]);
  });

  it('setFiles with a new file starts from what is on disk; a later change to it fires', async () => {
    const { dir, files, calls, watcher } = setup(['a.yaml']);
    const w = watcher();
    const zone = path.join(dir, 'example.zone');
    writeFileSync(zone, 'v0');
    w.setFiles([...files, zone]);
    await settle();
    expect(calls).toEqual([]);
    renameOver(zone, 'v1');
    await until(() => calls.length === 1, 'the new file fires');
    expect(calls).toEqual([['example.zone']]);
  });
});
