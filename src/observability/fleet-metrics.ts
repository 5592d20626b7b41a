/**
 * Metrics of the fleet (issue 14), registered only when the config has a
 * `fleet:` section: the NATS connection, live members, each PoP's fresh votes,
 * where each PoP's verdict comes from, which PoPs this instance probes, and
 * the config version it runs next to the one last published. No instance
 * label: every instance exports its own, and Prometheus' target labels tell
 * them apart. Read at scrape time from the control plane's fleet side.
 */
import type { Registry } from 'prom-client';
import { type MetricSpec, registerSpecs } from './metric-spec.js';

/** The parts of the fleet view (plane/fleet/decide.ts FleetView) the metrics read. */
export interface FleetMetricsView {
  live: readonly string[];
  probes: readonly string[];
  pops: ReadonlyArray<{
    pop: string;
    source: string;
    probers: readonly string[];
    verdict: { up: number; down: number };
  }>;
}

export interface FleetMetricsSource {
  connected(): boolean;
  view(): FleetMetricsView;
  /** The published config version running here (null: the local file). */
  runningVersion(): number | null;
  publishedVersion(): number | null;
  following(): boolean;
  rejectedValues(): number;
}

const SOURCES = ['fleet', 'held', 'local'] as const;

const FLEET_METRICS: MetricSpec<FleetMetricsSource>[] = [
  {
    name: 'meridian_fleet_connected',
    help: 'Connected to the fleet (NATS JetStream, buckets in sync) (1) or not (0).',
    type: 'gauge',
    read: (s) => (s.connected() ? 1 : 0),
  },
  {
    name: 'meridian_fleet_members',
    help: 'Live fleet members (instances with a fresh heartbeat), this one included.',
    type: 'gauge',
    read: (s) => s.view().live.length,
  },
  {
    name: 'meridian_fleet_observations',
    help: 'Fresh observations per PoP and vote (up, down): what the verdict rule decides on.',
    type: 'gauge',
    labels: ['pop', 'vote'],
    read: (s) =>
      s
        .view()
        .pops.flatMap((p) => [
          [{ pop: p.pop, vote: 'up' }, p.verdict.up] as const,
          [{ pop: p.pop, vote: 'down' }, p.verdict.down] as const,
        ]),
  },
  {
    name: 'meridian_fleet_verdict_source',
    help: "Where each PoP's health comes from (1 for the active source): fleet (verdict rule over fresh votes), held (last fleet verdict, within the grace period), local (this instance's probes).",
    type: 'gauge',
    labels: ['pop', 'source'],
    read: (s) =>
      s
        .view()
        .pops.flatMap((p) => SOURCES.map((source) => [{ pop: p.pop, source }, p.source === source ? 1 : 0] as const)),
  },
  {
    name: 'meridian_fleet_probers',
    help: 'Live instances assigned to probe each PoP (rendezvous hashing; fleet.probe_replicas, fewer when fewer are live).',
    type: 'gauge',
    labels: ['pop'],
    read: (s) => s.view().pops.map((p) => [{ pop: p.pop }, p.probers.length] as const),
  },
  {
    name: 'meridian_fleet_probing',
    help: 'Whether this instance probes each PoP (1): its share, or a PoP it decides locally.',
    type: 'gauge',
    labels: ['pop'],
    read: (s) => {
      const probes = new Set(s.view().probes);
      return s.view().pops.map((p) => [{ pop: p.pop }, probes.has(p.pop) ? 1 : 0] as const);
    },
  },
  {
    name: 'meridian_fleet_config_following',
    help: 'fleet.config is follow (1: runs the published config) or local (0).',
    type: 'gauge',
    read: (s) => (s.following() ? 1 : 0),
  },
  {
    name: 'meridian_fleet_config_version',
    help: 'The published config version this instance runs (0: its local file).',
    type: 'gauge',
    read: (s) => s.runningVersion() ?? 0,
  },
  {
    name: 'meridian_fleet_published_config_version',
    help: 'The config version last published to the fleet (0: none).',
    type: 'gauge',
    read: (s) => s.publishedVersion() ?? 0,
  },
  {
    name: 'meridian_fleet_rejected_values_total',
    help: 'Values in the fleet buckets that did not decode (another version, or damage): ignored, never trusted.',
    type: 'counter',
    read: (s) => s.rejectedValues(),
  },
];

export function registerFleetMetrics(register: Registry, source: FleetMetricsSource): void {
  registerSpecs(register, FLEET_METRICS, () => source);
}
