/**
 * Watch files for changes the way editors and deploy tools write them:
 * in place, or to a temp file renamed over the original (which replaces the
 * inode, so a watch on the file itself goes deaf). We watch each file's
 * directory, filter by name, debounce bursts into one callback, and keep a
 * slow stat poll as a safety net for filesystems without inotify.
 */
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface FileWatcher {
  close(): void;
  /** Replace the watched set (e.g. after a reload names new geo databases). */
  setFiles(files: readonly string[]): void;
}

function signature(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export function watchFiles(
  files: readonly string[],
  onChange: (changed: string[]) => void,
  debounceMs = 200,
  pollMs = 2000,
): FileWatcher {
  const watchers = new Map<string, FSWatcher>();
  let wanted = new Set<string>();
  let sigs = new Map<string, string>();
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;

  const fire = () => {
    timer = null;
    const changed = [...pending].filter((f) => {
      const sig = signature(f);
      if (sig === sigs.get(f)) return false;
      sigs.set(f, sig);
      return true;
    });
    pending = new Set();
    if (changed.length > 0) onChange(changed);
  };
  const touch = (file: string) => {
    pending.add(file);
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
    timer.unref();
  };

  const watchDir = (dir: string): FSWatcher | null => {
    if (!existsSync(dir)) return null;
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (!name) {
          for (const f of wanted) if (path.dirname(f) === dir) touch(f);
          return;
        }
        const full = path.join(dir, name.toString());
        if (wanted.has(full)) touch(full);
      });
      w.on('error', () => undefined);
      return w;
    } catch {
      return null; // the poll below still notices changes
    }
  };

  const setFiles = (list: readonly string[]) => {
    wanted = new Set(list.map((f) => path.resolve(f)));
    // A file already watched keeps the signature last *seen* by this watcher, not
    // its current one: a change that landed while the caller was reloading (say
    // geoipupdate renaming the ASN database while the City one compiles) is
    // still pending, and must still fire once it is noticed. Only new files
    // start from what is on disk now.
    sigs = new Map([...wanted].map((f) => [f, sigs.get(f) ?? signature(f)]));
    for (const f of wanted) if (signature(f) !== sigs.get(f)) touch(f);
    const dirs = new Set([...wanted].map((f) => path.dirname(f)));
    for (const [dir, w] of watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      const w = watchDir(dir);
      if (w) watchers.set(dir, w);
    }
  };
  setFiles(files);
  const poll = setInterval(() => {
    for (const f of wanted) if (signature(f) !== sigs.get(f)) touch(f);
  }, pollMs);
  poll.unref();

  return {
    setFiles,
    close: () => {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
