/**
 * How many decisions of each geo record have every candidate out of service
 * (they are answered fail-open, with the unfiltered ranking). Computed when
 * health changes, never per query. Pure.
 */
import type { HealthView } from '../health/view.js';
import type { CompiledPolicy } from './compile.js';

/** The compiled policies and the geo records that use them (a build/snapshot.ts Snapshot is one). */
export interface PolicySet {
  policies: readonly Pick<CompiledPolicy, 'decisions' | 'candidates' | 'decisionCount'>[];
  policyNames: readonly string[];
  geoRecords: readonly { name: string; policy: string }[];
}

export function failOpenDecisions(snapshot: PolicySet, view: HealthView): Map<string, number> {
  const byPolicy = new Map<string, number>();
  snapshot.policies.forEach((p, i) => {
    let n = 0;
    const k = p.candidates;
    for (let d = 0; d < p.decisionCount; d++) {
      let anyServing = false;
      for (let j = 0; j < k; j++) {
        const pop = p.decisions[d * k + j];
        if (pop >= 0 && view.serving[pop] === 1) anyServing = true;
      }
      if (!anyServing) n++;
    }
    byPolicy.set(snapshot.policyNames[i], n);
  });
  return new Map(snapshot.geoRecords.map((g) => [g.name, byPolicy.get(g.policy) ?? 0]));
}
