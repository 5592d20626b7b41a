/**
 * Render the live map off the event loop: the SVG (projecting Natural Earth's
 * countries and the client networks) takes 100-200 ms the first time, which
 * on the DNS thread of a one-process server would hold up answers. One worker
 * thread, started on the first /map request, renders every page (and keeps
 * the projected countries between renders); the report is plain data.
 */
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { startModuleWorker } from '../util/worker-thread.js';
import { renderMapPage, renderMapSvg, type MapPop } from './map.js';
import type { SimReport } from './simulate.js';

interface Job {
  id: number;
  report: SimReport;
  pops: MapPop[];
  title: string;
  footer: string;
}

type Reply = { id: number; page: string } | { id: number; error: string };

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (job: Job) => {
    try {
      port.postMessage({
        id: job.id,
        page: renderMapPage(renderMapSvg(job.report, job.pops, job.title, job.footer)),
      } satisfies Reply);
    } catch (err) {
      port.postMessage({ id: job.id, error: (err as Error).message } satisfies Reply);
    }
  });
}

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { resolve(page: string): void; reject(err: Error): void }>();

function renderer(): Worker {
  if (worker) return worker;
  const w = startModuleWorker(import.meta.url);
  w.unref(); // never keeps the process alive
  w.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    if ('page' in reply) p?.resolve(reply.page);
    else p?.reject(new Error(reply.error));
  });
  const lost = (err: Error) => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  w.on('error', lost);
  w.on('exit', (code) => lost(new Error(`map worker exited with code ${code}`)));
  worker = w;
  return w;
}

/** The /map page for `report`, rendered in the map worker thread. */
export function renderMapPageOffThread(
  report: SimReport,
  pops: readonly MapPop[],
  title: string,
  footer: string,
): Promise<string> {
  const id = ++nextId;
  return new Promise<string>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    // Only what the page shows (a report also carries the config path and more).
    renderer().postMessage({
      id,
      report,
      pops: pops.map((p) => ({ id: p.id, lat: p.lat, lon: p.lon })),
      title,
      footer,
    } satisfies Job);
  });
}
