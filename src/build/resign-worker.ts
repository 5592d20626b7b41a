/**
 * Re-sign the running zones off the main thread (the re-signing timer,
 * plane/resign.ts): the worker gets the zones, geo records and config (not
 * the policy tries), signs with build/zone-signing.ts resignZones, and
 * posts back the new zones and signatures. The main thread keeps answering.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { startModuleWorker } from '../util/worker-thread.js';
import type { Snapshot } from './snapshot.js';
import { resignZones } from './zone-signing.js';

type Input = Pick<Snapshot, 'config' | 'zones' | 'geoRecords' | 'dnssec' | 'file'> & { now: number };
type Reply = { ok: true; result: Pick<Snapshot, 'zones' | 'dnssec'> } | { ok: false; message: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.once('message', (msg: Input) => {
    let reply: Reply;
    try {
      reply = { ok: true, result: resignZones(msg, msg.now) };
    } catch (err) {
      reply = { ok: false, message: (err as Error).message };
    }
    port.postMessage(reply);
  });
}

/** `snapshot` with its zones signed again at `now` (seconds), made in a worker thread. */
export function resignInWorker(snapshot: Snapshot, now = Math.floor(Date.now() / 1000)): Promise<Snapshot> {
  const worker = startModuleWorker(import.meta.url);
  return new Promise<Snapshot>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, s?: Snapshot) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      if (err) reject(err);
      else resolve(s!);
    };
    worker.once('message', (reply: Reply) => {
      if (reply.ok) finish(null, { ...snapshot, zones: reply.result.zones, dnssec: reply.result.dnssec });
      else finish(new Error(reply.message));
    });
    worker.once('error', (err) => finish(err));
    worker.once('exit', (code) => finish(new Error(`re-signing worker exited with code ${code}`)));
    const { config, zones, geoRecords, dnssec, file } = snapshot;
    worker.postMessage({ config, zones, geoRecords, dnssec, file, now } satisfies Input);
  });
}
