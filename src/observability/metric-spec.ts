/**
 * Metrics as data. Each metric is a spec: its name, help, type, labels and
 * how to read its value at scrape time from a source; registerSpecs turns a
 * table of specs into prom-client metrics on a registry. The tables are in
 * metrics.ts (query path, configuration, health) and safety-metrics.ts
 * (reload safety, process robustness); docs/metrics.md lists every name
 * (test/conventions.test.ts checks it).
 */
import type { MetricValue, Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';

export type Labels = Record<string, string>;
/** A value without labels, or one value per label set. */
export type Reading = number | Iterable<readonly [Labels, number]>;

export interface ValueSpec<S> {
  name: string;
  help: string;
  /** counter: a cumulative count the source keeps (set at each scrape); gauge: a current value. */
  type: 'counter' | 'gauge';
  labels?: readonly string[];
  read(src: S): Reading | Promise<Reading>;
}

/** A histogram folded at scrape time from counts the source keeps (prom-client cannot set buckets). */
export interface HistogramSpec<S> {
  name: string;
  help: string;
  type: 'histogram';
  samples(src: S): Sample[] | Promise<Sample[]>;
}

export type MetricSpec<S> = ValueSpec<S> | HistogramSpec<S>;

export type Sample = MetricValue<string> & { metricName?: string };

/** Samples of one histogram series from cumulative bucket counts (Prometheus text format order). */
export function histogramSamples(
  name: string,
  labels: Record<string, string>,
  bounds: readonly number[],
  cumulative: readonly number[],
  sum: number,
  count: number,
): Sample[] {
  return [
    ...bounds.map((le, i) => ({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(le) },
      value: cumulative[i],
    })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
    { metricName: `${name}_sum`, labels, value: sum },
    { metricName: `${name}_count`, labels, value: count },
  ];
}

/** Register every spec of `specs`, reading values from `source()` at each scrape. */
export function registerSpecs<S>(
  register: Registry,
  specs: readonly MetricSpec<S>[],
  source: () => S | Promise<S>,
): void {
  for (const spec of specs) {
    if (spec.type === 'histogram') {
      const { name, help } = spec;
      const metric = {
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        async get() {
          return { name, help, type: 'histogram', aggregator: 'sum', values: await spec.samples(await source()) };
        },
      };
      register.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
      continue;
    }
    const read = spec.read;
    const options = { name: spec.name, help: spec.help, labelNames: [...(spec.labels ?? [])], registers: [register] };
    // A counter's value is the cumulative count the source keeps: reset, then inc by it; a gauge is set.
    const collect = async function (this: Counter | Gauge) {
      const r = await read(await source());
      this.reset();
      const put = this instanceof Counter ? this.inc.bind(this) : (this as Gauge).set.bind(this as Gauge);
      if (typeof r === 'number') put(r);
      else for (const [labels, v] of r) put(labels, v);
    };
    if (spec.type === 'counter') new Counter({ ...options, collect });
    else new Gauge({ ...options, collect });
  }
}
