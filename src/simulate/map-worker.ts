/**
 * Render the live map off the event loop: the SVG (projecting Natural Earth's
 * countries and the client networks) takes 100-200 ms, which on the DNS
 * thread of a one-process server would hold up answers. The report is plain
 * data; a short-lived worker thread turns it into the page.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { startModuleWorker } from '../worker-thread.js';
import { renderMapPage, renderMapSvg, type MapPop } from './map.js';
import type { SimReport } from './simulate.js';

interface Job {
  report: SimReport;
  pops: MapPop[];
  title: string;
  footer: string;
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.once('message', (job: Job) => {
    port.postMessage(renderMapPage(renderMapSvg(job.report, job.pops, job.title, job.footer)));
  });
}

/** The /map page for `report`, rendered in a worker thread. */
export function renderMapPageOffThread(report: SimReport, pops: readonly MapPop[], title: string, footer: string): Promise<string> {
  const worker = startModuleWorker(import.meta.url);
  return new Promise<string>((resolve, reject) => {
    worker.once('message', (page: string) => {
      resolve(page);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`map worker exited with code ${code}`)));
    // Only what the page shows (a report also carries the config path and more).
    worker.postMessage({ report, pops: pops.map((p) => ({ id: p.id, lat: p.lat, lon: p.lon })), title, footer } satisfies Job);
  });
}
