/**
 * Memory that returns after reloads. Every reload reads the geo databases
 * and builds tries in a worker thread, then drops the previous runtime; glibc
 * keeps much of what was freed resident (it raises its mmap threshold after
 * large frees, and worker threads have their own arenas), so RSS climbed with
 * each recompile. The small native addon (native/memory.c) pins the mmap
 * threshold at start and trims the arenas after each swap. Without the addon
 * (no compiler, not glibc) both are no-ops; MALLOC_MMAP_THRESHOLD_=131072 in
 * the environment has the same effect as tune().
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../util/package-root.js';

interface MemoryAddon {
  tune(mmapThreshold: number): boolean;
  trim(): boolean;
}

let addon: MemoryAddon | null | undefined;

function load(): MemoryAddon | null {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)(
      path.join(PACKAGE_ROOT, 'build', 'Release', 'meridian_memory.node'),
    ) as MemoryAddon;
  } catch {
    addon = null;
  }
  return addon;
}

/** Blocks of at least this size are mapped and unmapped on their own (glibc's default start value). */
const MMAP_THRESHOLD = 128 * 1024;

/** Pin glibc's mmap threshold (once, at process start). True when it took effect. */
export function tuneAllocator(): boolean {
  return load()?.tune(MMAP_THRESHOLD) ?? false;
}

/** Return freed pages to the system (after a snapshot swap; a few ms, never on the query path). */
export function releaseFreedMemory(): boolean {
  return load()?.trim() ?? false;
}
