/**
 * Scope merges off the event loop: a worker thread that merges compiled
 * tries by answer class (policy/current-scopes.ts mergeGrouping) and posts
 * the merged tries back, transferred (not copied). The compiled tries it
 * reads are SharedArrayBuffers (policy/trie.ts TrieBuilder.finish), so
 * sending them costs nothing either; a trie that is not shared is copied.
 *
 * The thread keeps nothing between requests: no tries, and no scratch (a
 * merger's scratch is one Int32 per node of the largest trie, 14 MB on
 * DB-IP, and is dropped after each request). It is started on the first
 * request and stays until close(); a thread that dies fails its request and
 * the next request starts a new one.
 */
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { AnswerMerger } from '../policy/answer-merge.js';
import { mergeGrouping, type MergedScopes, reshapeMerged } from '../policy/current-scopes.js';
import type { FamilyTrie } from '../policy/trie.js';
import { startModuleWorker } from '../util/worker-thread.js';

/** One grouping to merge: the policy's compiled tries and the partition of its decisions. */
export interface MergeJob {
  key: string;
  policyKey: string;
  v4: FamilyTrie;
  v6: FamilyTrie;
  classOf: Int32Array;
  representative: Int32Array;
  count: number;
}

interface Request {
  id: number;
  jobs: MergeJob[];
}

type Reply = { id: number; ok: true; results: MergedScopes[]; ms: number } | { id: number; ok: false; message: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (req: Request) => {
    try {
      const t0 = performance.now();
      const merger = new AnswerMerger();
      const results = req.jobs.map((j) =>
        mergeGrouping(
          { v4: j.v4, v6: j.v6 },
          j.policyKey,
          {
            key: j.key,
            classes: { classOf: j.classOf, representative: j.representative, count: j.count },
          },
          merger,
        ),
      );
      const transfer = results.flatMap((m) =>
        [m.v4, m.v6].flatMap((t) => [t.nodes.buffer, t.jump!.buffer, t.jumpDepth!.buffer] as ArrayBuffer[]),
      );
      port.postMessage({ id: req.id, ok: true, results, ms: performance.now() - t0 } satisfies Reply, transfer);
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, message: (err as Error).stack ?? String(err) } satisfies Reply);
    }
  });
}

/** The main thread's handle on the merge thread. */
export class ScopeMergeThread {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: { results: MergedScopes[]; ms: number }) => void; reject: (e: Error) => void }
  >();

  /** Merge `jobs` in the thread; resolves with the merged tries (in job order) and the time the thread took. */
  merge(jobs: MergeJob[]): Promise<{ results: MergedScopes[]; ms: number }> {
    const worker = this.thread();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Only the compiled tries' nodes and roots travel (their jump tables are per process).
      const plain = jobs.map((j) => ({
        ...j,
        v4: { nodes: j.v4.nodes, root: j.v4.root },
        v6: { nodes: j.v6.nodes, root: j.v6.root },
      }));
      worker.postMessage({ id, jobs: plain } satisfies Request);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = startModuleWorker(import.meta.url);
    w.unref();
    w.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok)
        p.resolve({
          results: reply.results.map(reshapeMerged),
          ms: reply.ms,
        });
      else p.reject(new Error(`scope merge failed: ${reply.message}`));
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`scope merge thread exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  /** Stop the thread (pending merges fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
