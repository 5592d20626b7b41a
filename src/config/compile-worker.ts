/**
 * Compile a config off the query path: load, validate and compile in a worker
 * thread and post the Snapshot back (its typed arrays are transferred, not
 * copied). The main thread keeps answering queries meanwhile.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
  port.once('message', (msg: { file: string; reusable: string[] }) => {
    let reply: Reply;
    try {
      const snapshot = buildSnapshotFromFile(msg.file, { reusable: new Set(msg.reusable) });
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

/**
 * Compile `file` in a worker thread. Policies whose key is in `reusable` come
 * back as `reused` stand-ins (fill them with fillReused). Rejects with
 * ConfigError (or Error) like the synchronous path.
 */
export function compileInWorker(file: string, reusable: readonly string[] = []): Promise<Snapshot> {
  const self = fileURLToPath(import.meta.url);
  let worker: Worker;
  if (self.endsWith('.ts')) {
    // Running from TypeScript sources (tests, dev): register tsx's loader inside
    // the worker, then load this module (`--import tsx` in execArgv does not reach workers on Node 20).
    const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
    const api = pathToFileURL(path.join(path.dirname(pkgFile), pkg.exports['./esm/api'].import.default)).href;
    const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(self).href)}); })`;
    worker = new Worker(code, { eval: true });
  } else {
    worker = new Worker(self);
  }
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
    worker.postMessage({ file, reusable });
  });
}
