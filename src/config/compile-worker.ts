/**
 * Compile a config off the query path: load, validate and compile in a worker
 * thread and post the Snapshot back (its typed arrays are transferred, not
 * copied). The main thread keeps answering queries meanwhile.
 */
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { Snapshot } from '../snapshot.js';

import { buildSnapshotFromFile } from '../snapshot.js';

type Reply = { ok: true; snapshot: Snapshot } | { ok: false; issues: ConfigIssue[]; message: string };

/** The ArrayBuffers inside a snapshot, for the transfer list. */
function transferables(s: Snapshot): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const p of s.policies) {
    out.add(p.v4.nodes.buffer as ArrayBuffer);
    out.add(p.v6.nodes.buffer as ArrayBuffer);
    out.add(p.decisions.buffer as ArrayBuffer);
  }
  return [...out];
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.once('message', (msg: { file: string }) => {
    let reply: Reply;
    try {
      const snapshot = buildSnapshotFromFile(msg.file);
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

/** Compile `file` in a worker thread. Rejects with ConfigError (or Error) like the synchronous path. */
export function compileInWorker(file: string): Promise<Snapshot> {
  const self = fileURLToPath(import.meta.url);
  // Under vitest/tsx the sources are TypeScript: let the worker load them the same way.
  const execArgv = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const worker = new Worker(self, { execArgv });
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: Reply) => {
      void worker.terminate();
      if (reply.ok) resolve(reply.snapshot);
      else reject(reply.issues.length > 0 ? new ConfigError(reply.issues) : new Error(reply.message));
    });
    worker.once('error', (err) => reject(err));
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`compile worker exited with code ${code}`));
    });
    worker.postMessage({ file });
  });
}
