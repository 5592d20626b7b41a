/**
 * The one metrics collector for the data plane, in both modes: each data
 * plane reports its counters as plain values (planeCounters: in the single
 * process directly, from a cluster worker over IPC), and sumPlanes folds any
 * number of reports into what a scrape reads (Collected). Counters are
 * summed, the scope sketches merged by register maximum, the caught-error
 * counts of the reporting processes (plus the primary's) added up.
 */
import type { Collected, ProcessMetrics } from '../observability/metrics.js';
import { type CounterValues, counterValues, QueryCounters } from '../query/counters.js';
import type { DataPlane } from './data-plane.js';
import { uncaughtCounts } from './process-guard.js';
import { hllEstimate, type ScopeSketches } from '../util/hll.js';
import { type DnssecValues, sumDnssec } from '../observability/dnssec-metrics.js';
import { planeDnssecValues } from './dnssec-counters.js';

/** One data plane's report for a scrape. Plain values only: it crosses IPC in cluster mode. */
export interface PlaneCounters {
  counters: CounterValues;
  popAnswers: Array<[string, number]>;
  /** Per geo record name: both sketch windows merged into one register array. */
  sketches: Array<[string, Uint8Array]>;
  tcp: { open: number; accepted: number; rejected: number };
  udpSendErrors: number;
  oversized: number;
  uncaught: { exception: number; rejection: number };
  udpMode: string;
  /** A worker's own process_* / nodejs_* metrics (aggregated by the primary). */
  process?: ProcessMetrics;
  /** DNSSEC on-demand signing and caches, per signed zone. */
  dnssec?: DnssecValues[];
}

/** What this process's data plane reports. */
export function planeCounters(plane: DataPlane): PlaneCounters {
  const rt = plane.runtime;
  const values = counterValues(plane.counters);
  values.tcpConnectionsOpen = plane.tcpStats.open;
  const udp = plane.udpCounters();
  // Datagrams whose handler threw past its own guard count as dropped with an error.
  (values.dropped as Float64Array)[1] += udp.handlerErrors;
  return {
    counters: values,
    popAnswers: [...plane.popAnswerTotals()],
    sketches: rt.records.map((r, i) => [r.name, mergeWindows(rt.sketches, i)] as [string, Uint8Array]),
    tcp: { ...plane.tcpStats },
    udpSendErrors: udp.sendErrors,
    oversized: udp.oversized,
    uncaught: uncaughtCounts(),
    udpMode: plane.udpMode,
    dnssec: planeDnssecValues(plane.retiredDnssec, rt),
  };
}

/**
 * Fold the reports of every data plane into one scrape. `records` are the
 * running geo records (a record nobody reported estimates 0); `ownUncaught`
 * are the caught errors of a process that reported no plane (the primary).
 */
export function sumPlanes(
  planes: readonly PlaneCounters[],
  records: readonly { name: string }[],
  ownUncaught: { exception: number; rejection: number } = { exception: 0, rejection: 0 },
): Collected {
  const counters = new QueryCounters();
  const popAnswers = new Map<string, number>();
  const sketches = new Map<string, Uint8Array[]>();
  const tcp = { open: 0, accepted: 0, rejected: 0 };
  const uncaught = { ...ownUncaught };
  let sendErrors = 0;
  let oversized = 0;
  const processes: ProcessMetrics[] = [];
  for (const p of planes) {
    if (p.process) processes.push(p.process);
    counters.add(p.counters);
    counters.tcpConnectionsOpen += Number(p.counters.tcpConnectionsOpen ?? 0);
    for (const [k, v] of p.popAnswers) popAnswers.set(k, (popAnswers.get(k) ?? 0) + v);
    for (const [name, regs] of p.sketches) (sketches.get(name) ?? sketches.set(name, []).get(name)!).push(regs);
    tcp.open += p.tcp.open;
    tcp.accepted += p.tcp.accepted;
    tcp.rejected += p.tcp.rejected;
    sendErrors += p.udpSendErrors;
    oversized += p.oversized;
    uncaught.exception += p.uncaught.exception;
    uncaught.rejection += p.uncaught.rejection;
  }
  const scopeEstimates = new Map<string, number>();
  for (const { name } of records) {
    const all = sketches.get(name) ?? [];
    scopeEstimates.set(name, all.length ? hllEstimate(all) : 0);
  }
  return {
    counters,
    popAnswers,
    scopeEstimates,
    tcp,
    udpSendErrors: sendErrors,
    oversized,
    uncaught,
    workers: planes.length,
    udpMode: [...new Set(planes.map((p) => p.udpMode))].join('+') || 'none',
    processes: processes.length > 0 ? processes : undefined,
    dnssec: sumDnssec(planes.map((p) => p.dnssec)),
  };
}

/** Both windows of a record's sketch as one register array (max per register: the union). */
function mergeWindows(s: ScopeSketches, record: number): Uint8Array {
  const [a, b] = s.sketchesOf(record);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] > b[i] ? a[i] : b[i];
  return out;
}
