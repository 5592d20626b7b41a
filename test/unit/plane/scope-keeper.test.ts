/**
 * The scope keeper (src/plane/scope-keeper.ts) with its real merge thread, on
 * a compiled fixture config: what a health change serves at once (kept tries,
 * or the compiled tries where a merge is needed), what it hands over when the
 * merge is done, that a merge finished for a view that is no longer current
 * is never handed over, the memory bound, a failing merge, and its metrics.
 * Every merged trie is checked exhaustively against the compiled one
 * (test/helpers/scope-check.ts) for the view it is handed over with.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSnapshotFromFile, type Snapshot } from '../../../src/build/snapshot.js';
import type { HealthView } from '../../../src/health/view.js';
import { buildCurrentScopes, groupingsOf, mergedBytes, type ScopeSet } from '../../../src/policy/current-scopes.js';
import { ScopeKeeper } from '../../../src/plane/scope-keeper.js';
import { testConfig } from '../../helpers/configs.js';
import { checkMergedTrie, queryPathAnswer } from '../../helpers/scope-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-scope-keeper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function build(yaml: string): Snapshot {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return buildSnapshotFromFile(file);
}

const zones = (geo: string) => `
  - origin: example.net.
    soa: { mname: ns1, rname: hostmaster@example.net, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [198.51.100.53] }
    geo:
${geo}`;

let snapshot: Snapshot;
beforeAll(() => {
  snapshot = build(
    testConfig({
      zones: zones('      cdn: { policy: nearest }\n      full: { policy: nearest, scopes: full_ranking }'),
    }),
  );
});

let epoch = 100;
/** A view with `down` out of service (a new epoch each time, as the monitor makes them). */
function view(...down: string[]): HealthView {
  return { epoch: ++epoch, serving: Uint8Array.from(snapshot.pops, (p) => (down.includes(p.id) ? 0 : 1)) };
}

/** Every entry of `set` is sound and maximal for `v` (exhaustive over both families). */
function expectSound(set: ScopeSet, v: HealthView): void {
  const policy = snapshot.policies[0];
  const families = snapshot.pops.map(() => ({ v4: true, v6: true }));
  set.entries.forEach((e, i) => {
    if (!e) return;
    const answer = queryPathAnswer(policy, families, 1, i % 2 === 0 ? 'A' : 'AAAA', v.serving);
    expect(checkMergedTrie(policy.v4, e.v4, 4, answer).violations).toEqual([]);
    expect(checkMergedTrie(policy.v6, e.v6, 6, answer).violations).toEqual([]);
  });
}

let keeper: ScopeKeeper;
let ready: Array<{ view: HealthView; scopes: ScopeSet; current: number }>;
let current: HealthView;
function start(keepBytes?: number): void {
  ready = [];
  keeper = new ScopeKeeper({
    keepBytes,
    // Record which view was current when the keeper handed scopes over.
    onReady: (v, scopes) => ready.push({ view: v, scopes, current: current.epoch }),
  });
}
function update(v: HealthView): ScopeSet {
  current = v;
  return keeper.update(snapshot, v);
}
afterEach(() => keeper?.close());

describe('ScopeKeeper', () => {
  it('serves the compiled tries at once, then hands over merged tries for the same view', async () => {
    start();
    const up = view();
    const first = update(up);
    expect(first.epoch).toBe(up.epoch);
    // cdn A and AAAA need a merge: null (compiled) until it is done; `full` is never merged.
    expect(first.entries).toEqual([null, null, null, null]);
    expect(keeper.stats().pending).toBe(1);
    await keeper.settled();
    expect(ready).toHaveLength(1);
    const { view: v, scopes } = ready[0];
    expect(v).toBe(up);
    expect(scopes.epoch).toBe(up.epoch);
    expect(scopes.entries[0]).not.toBeNull();
    expect(scopes.entries[1]).toBe(scopes.entries[0]); // A and AAAA share (every PoP has both families)
    expect(scopes.entries.slice(2)).toEqual([null, null]);
    expect(keeper.current).toBe(scopes);
    // The same tries as the in-thread merge, node for node.
    const local = buildCurrentScopes(snapshot, up).set.entries[0]!;
    expect([...scopes.entries[0]!.v4.nodes]).toEqual([...local.v4.nodes]);
    expect([...scopes.entries[0]!.v6.nodes]).toEqual([...local.v6.nodes]);
    expect(scopes.entries[0]!.v4.jump).toBeInstanceOf(Int32Array);
    expectSound(scopes, up);
    const stats = keeper.stats();
    expect(stats.pending).toBe(0);
    expect(stats.outcomes).toMatchObject({ merged: 1, reused: 0, superseded: 0, failed: 0 });
    expect(stats.duration.count).toBe(1);
    expect(stats.bytes).toBeGreaterThan(0);
    expect(stats.records).toEqual(
      expect.arrayContaining([
        { record: 'cdn.example.net', type: 'A', family: 'ipv4', basis: 'current', scopes: scopes.entries[0]!.leaves4 },
        {
          record: 'full.example.net',
          type: 'AAAA',
          family: 'ipv6',
          basis: 'full_ranking',
          scopes: snapshot.policies[0].stats.leaves6,
        },
      ]),
    );
  });

  it('a change that keeps the partition, and a return to a state seen before, are served at once', async () => {
    start();
    update(view());
    await keeper.settled();
    const merged = keeper.current!.entries[0];
    // A new epoch with the same flags (e.g. an override that changes nothing): same tries, nothing to merge.
    const same = update(view());
    expect(same.entries[0]).toBe(merged);
    expect(keeper.stats().pending).toBe(0);
    // fra down: merged anew in the background; the compiled tries meanwhile.
    const down = view('fra');
    expect(update(down).entries[0]).toBeNull();
    await keeper.settled();
    const downSet = ready.at(-1)!.scopes;
    expect(downSet.epoch).toBe(down.epoch);
    expect(downSet.entries[0]).not.toBe(merged);
    expectSound(downSet, down);
    // Back to all up: the kept tries, at once.
    const back = update(view());
    expect(back.entries[0]).toBe(merged);
    expect(keeper.stats().outcomes).toMatchObject({ merged: 2, reused: 2 });
  });

  it('a merge finished after health changed again is never handed over with the newer view', async () => {
    start();
    update(view());
    await keeper.settled();
    const a = view('fra');
    // A second state whose answers are partitioned otherwise than a's (a state with the same partition would share a's merge).
    const keyOf = (v: HealthView) => groupingsOf(snapshot, v)[0]!.key;
    const b = [view('fra', 'lon'), view('fra', 'nyc'), view('lon')].find((v) => keyOf(v) !== keyOf(a))!;
    update(a); // the merge for a starts
    expect(update(b).entries[0]).toBeNull(); // health changes again before it is done; b needs a merge too
    await keeper.settled();
    // Every hand-over was for the view current at that moment, and the last is b's.
    for (const r of ready) expect(r.view.epoch).toBe(r.current);
    expect(ready.at(-1)!.view).toBe(b);
    expect(ready.some((r) => r.view === a)).toBe(false);
    expectSound(ready.at(-1)!.scopes, b);
    expect(keeper.stats().outcomes.superseded).toBe(1);
    // a's tries were kept: going back to a needs no merge.
    expect(update(view('fra')).entries[0]).not.toBeNull();
  });

  it('keeps other states only up to its byte budget', async () => {
    start(1); // nothing beyond the current state
    update(view());
    await keeper.settled();
    update(view('fra'));
    await keeper.settled();
    // All up was dropped when fra went down: it is merged again.
    expect(update(view()).entries[0]).toBeNull();
    await keeper.settled();
    expect(keeper.stats().outcomes.merged).toBe(3);
  });

  it('a merge that fails leaves the compiled tries in place, logs, and settles', async () => {
    const errors: string[] = [];
    ready = [];
    const broken = {
      ...snapshot,
      // Not in post-order: the merge refuses it (answer-merge.ts).
      policies: [{ ...snapshot.policies[0], v4: { nodes: Int32Array.of(1, ~0, ~1, ~2), root: 0 } }],
    };
    keeper = new ScopeKeeper({
      onReady: (v, scopes) => ready.push({ view: v, scopes, current: v.epoch }),
      log: { error: (o: unknown, m: string) => errors.push(`${m} ${JSON.stringify(o)}`), child: () => ({}) } as never,
    });
    current = view();
    expect(keeper.update(broken, current).entries[0]).toBeNull();
    await keeper.settled();
    expect(ready).toEqual([]);
    expect(keeper.stats().outcomes.failed).toBe(1);
    expect(keeper.stats().records.find((r) => r.record === 'cdn.example.net')!.basis).toBe('full_ranking');
    expect(errors.join('\n')).toMatch(/scope merge failed.*post-order/s);
  });

  it('a new snapshot keeps the tries of a policy it kept and drops the others', async () => {
    start();
    update(view());
    await keeper.settled();
    const merged = keeper.current!.entries[0];
    // The same compiled policy in a new snapshot (a zone edit): the same tries, at once.
    const zoneEdit = { ...snapshot, geoRecords: [...snapshot.geoRecords] };
    expect(keeper.update(zoneEdit, view()).entries[0]).toBe(merged);
    // A recompiled policy (another key): nothing of the old one is usable.
    const recompiled = { ...snapshot, policies: [{ ...snapshot.policies[0], key: 'another compile' }] };
    expect(keeper.update(recompiled, view()).entries[0]).toBeNull();
    await keeper.settled();
    expect(keeper.current!.entries[0]!.policyKey).toBe('another compile');
    // The old policy's tries were dropped: only the new ones are held.
    expect(keeper.stats().bytes).toBe(mergedBytes(keeper.current!.entries[0]!));
  });
});
