/**
 * Compile a config off the query path: load, validate and compile in a worker
 * thread and post the Snapshot back (its decision tables are transferred and
 * its tries, in SharedArrayBuffers, shared: nothing large is copied). The
 * main thread keeps answering queries meanwhile.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { startModuleWorker } from '../util/worker-thread.js';
import { ConfigError, ReloadBoundError, type ConfigIssue } from '../errors.js';
import type { Snapshot } from './snapshot.js';

import { buildSnapshotFromFile } from './snapshot.js';

type Reply = { ok: true; snapshot: Snapshot } | { ok: false; issues: ConfigIssue[]; message: string };

/** The ArrayBuffers inside a snapshot, for the transfer list (the tries' SharedArrayBuffers are shared anyway). */
function transferables(s: Snapshot): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const p of s.policies)
    for (const a of [p.v4.nodes, p.v6.nodes, p.decisions]) if (a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}

interface Request {
  file: string;
  reusable: string[];
  validated: string[];
  sampleOf: string | undefined;
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.once('message', (msg: Request) => {
    let reply: Reply;
    try {
      const snapshot = buildSnapshotFromFile(msg.file, {
        reusable: new Set(msg.reusable),
        validated: new Set(msg.validated),
        guardSample: true,
        sampleOf: msg.sampleOf,
      });
      port.postMessage({ ok: true, snapshot } satisfies Reply, transferables(snapshot));
      return;
    } catch (err) {
      reply =
        err instanceof ConfigError
          ? { ok: false, issues: err.issues, message: err.message }
          : { ok: false, issues: [], message: (err as Error).stack ?? String(err) };
    }
    port.postMessage(reply);
  });
}

/** Bounds on one compile (the reload watchdog); a compile over either is terminated. */
export interface CompileBounds {
  timeoutMs: number;
  /** Growth of the process's resident memory while the compile runs (and the worker's V8 heap). */
  memoryBytes: number;
}

export interface CompileOptions {
  /** Keys of compiled policies the caller still has (they come back as `reused` stand-ins). */
  reusable?: readonly string[];
  /** Database identities validated by an earlier compile (not walked again). */
  validated?: readonly string[];
  /** sampleKey() of the caller's guard sample: not drawn again for the same databases. */
  sampleOf?: string;
  bounds?: CompileBounds;
  /** Called every poll with the memory the compile has added so far (for metrics and /readyz). */
  onProgress?(growthBytes: number): void;
}

export interface CompileOutcome {
  snapshot: Snapshot;
  ms: number;
  /** Peak growth of the process RSS during the compile. */
  peakBytes: number;
}

/** How often the watchdog samples the process's RSS during a compile. */
const MEMORY_POLL_MS = 50;

/**
 * Compile `file` in a worker thread under `bounds`. Policies whose key is in
 * `reusable` come back as `reused` stand-ins (fill them with fillReused).
 * Rejects with ConfigError (or Error) like the synchronous path, and with
 * ReloadBoundError when the compile ran over its time or memory bound (the
 * worker is terminated: a looping or runaway compile cannot block later reloads).
 */
export function compileInWorker(file: string, opts: CompileOptions = {}): Promise<CompileOutcome> {
  const bounds = opts.bounds;
  const resourceLimits = bounds
    ? { maxOldGenerationSizeMb: Math.max(16, Math.ceil(bounds.memoryBytes / 1048576)) }
    : undefined;
  const worker = startModuleWorker(import.meta.url, resourceLimits);
  const t0 = performance.now();
  const rss0 = process.memoryUsage.rss();
  let peak = 0;
  return new Promise<CompileOutcome>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, snapshot?: Snapshot) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      void worker.terminate();
      if (err) reject(err);
      else resolve({ snapshot: snapshot!, ms: Math.round(performance.now() - t0), peakBytes: peak });
    };
    const timer = bounds
      ? setTimeout(
          () => finish(new ReloadBoundError('time', bounds.timeoutMs, performance.now() - t0, peak)),
          bounds.timeoutMs,
        )
      : undefined;
    const poll = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss() - rss0);
      opts.onProgress?.(peak);
      if (bounds && peak > bounds.memoryBytes)
        finish(new ReloadBoundError('memory', bounds.memoryBytes, performance.now() - t0, peak));
    }, MEMORY_POLL_MS);
    timer?.unref();
    poll.unref();
    worker.once('message', (reply: Reply) => {
      if (reply.ok) finish(null, reply.snapshot);
      else finish(reply.issues.length > 0 ? new ConfigError(reply.issues) : new Error(reply.message));
    });
    worker.once('error', (err: Error & { code?: string }) => {
      // V8 heap over resourceLimits: the memory bound, seen from inside the worker.
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY' && bounds)
        finish(new ReloadBoundError('memory', bounds.memoryBytes, performance.now() - t0, peak));
      else finish(err);
    });
    worker.once('exit', (code) => finish(new Error(`compile worker exited with code ${code}`)));
    worker.postMessage({
      file,
      reusable: [...(opts.reusable ?? [])],
      validated: [...(opts.validated ?? [])],
      sampleOf: opts.sampleOf,
    } satisfies Request);
  });
}
