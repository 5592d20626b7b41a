/**
 * Metrics of the ECS scopes served (issue 15): how many distinct scopes each
 * geo record costs resolvers under the current health state and on which
 * basis (the answer given now, or the whole failover ranking), and the
 * background merges that compute them (duration, pending, outcomes). Read at
 * scrape time from the control plane's scope keeper (plane/scope-keeper.ts).
 */
import type { Registry } from 'prom-client';
import { histogramSamples, type MetricSpec, registerSpecs } from './metric-spec.js';

/** How a grouping needed by a health change was served. */
export type MergeOutcome = 'merged' | 'reused' | 'superseded' | 'failed';

/** Bucket bounds (seconds) of meridian_scope_merge_duration_seconds. */
export const MERGE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Scopes served for one geo record, answer type and client family. */
export interface RecordScopes {
  record: string;
  type: 'A' | 'AAAA';
  family: 'ipv4' | 'ipv6';
  /** current: of the answer given under the current health; full_ranking: of the whole ranking. */
  basis: 'current' | 'full_ranking';
  /** Distinct scopes covering the family's address space (trie leaves). */
  scopes: number;
}

/** What the scope metrics read. */
export interface ScopeStats {
  records: RecordScopes[];
  /** Groupings of the current health state waiting for a merge (their records serve full-ranking scopes meanwhile). */
  pending: number;
  outcomes: Record<MergeOutcome, number>;
  /** Merge requests: cumulative counts per MERGE_BUCKETS bound, sum of seconds, count. */
  duration: { cumulative: number[]; sum: number; count: number };
  /** Bytes of merged tries held (the current state's and those kept for states that may return). */
  bytes: number;
}

const SCOPE_METRICS: MetricSpec<() => ScopeStats>[] = [
  {
    name: 'meridian_record_scopes',
    help: 'Distinct ECS scopes covering the address space of a family for a geo record and answer type as served now (trie leaves), by basis: current (the answer given under the current health) or full_ranking (the whole failover ranking: configured, or while a merge is pending).',
    type: 'gauge',
    labels: ['record', 'type', 'family', 'basis'],
    read: (stats) =>
      stats().records.map(
        (r) => [{ record: r.record || '.', type: r.type, family: r.family, basis: r.basis }, r.scopes] as const,
      ),
  },
  {
    name: 'meridian_scope_merge_pending',
    help: 'Groupings (policy x partition of its decisions) of the current health state still being merged; their records serve full-ranking scopes meanwhile.',
    type: 'gauge',
    read: (stats) => stats().pending,
  },
  {
    name: 'meridian_scope_merges_total',
    help: 'Groupings needed by health changes, by outcome: merged (in the background, then installed), reused (merged tries kept from an earlier state), superseded (merged after health changed again; kept), failed.',
    type: 'counter',
    labels: ['outcome'],
    read: (stats) => Object.entries(stats().outcomes).map(([outcome, n]) => [{ outcome }, n] as const),
  },
  {
    name: 'meridian_scope_merge_duration_seconds',
    help: 'Time to merge the scope tries a health change needs (one request to the merge thread).',
    type: 'histogram',
    samples: (stats) => {
      const d = stats().duration;
      return histogramSamples('meridian_scope_merge_duration_seconds', {}, MERGE_BUCKETS, d.cumulative, d.sum, d.count);
    },
  },
  {
    name: 'meridian_scope_tries_bytes',
    help: 'Memory held by merged scope tries in the control plane: the current health state and recent ones kept for when they return.',
    type: 'gauge',
    read: (stats) => stats().bytes,
  },
];

export function registerScopeMetrics(stats: () => ScopeStats, register: Registry): void {
  registerSpecs(register, SCOPE_METRICS, () => stats);
}
