/**
 * The change guard's comparison on real compiled snapshots (fixture
 * databases): what moved, from which PoP to which, examples, address space
 * per PoP; unchanged policies are not compared; the threshold decides.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { movedCityDatabase } from '../../../geo-data/broken-fixtures.js';
import { addressSpace, changeId, compareSnapshots, formatChangeReport } from '../../../src/build/change-guard.js';
import { buildSnapshotFromFile, type Snapshot } from '../../../src/build/snapshot.js';
import { STATIC_ZONE, testConfig } from '../../helpers/configs.js';
import { tempDir } from '../../helpers/server.js';

const dir = tempDir('meridian-guard-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function snapshot(yaml: string, files: Record<string, Buffer> = {}): Snapshot {
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
  const file = path.join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return buildSnapshotFromFile(file, { guardSample: true });
}

const base = snapshot(testConfig());
const settings = { maxChange: 5, examples: 6 };

describe('compareSnapshots', () => {
  it('a zone edit compiles nothing new: nothing is compared', () => {
    const next = snapshot(testConfig({ zones: STATIC_ZONE.replace('198.51.100.10', '198.51.100.11') }));
    const r = compareSnapshots(base, next, settings); // recompiled here, but with the same keys
    expect(r.records).toEqual([]);
    expect(r.over).toBe(false);
    expect(formatChangeReport(r)).toBe('no geo record changes its decisions');
  });

  it('a database moving the US to Tokyo: a third of the sample moves nyc/sfo -> tyo, with examples inside 3.0.0.0/8; held', () => {
    const next = snapshot(testConfig({ databases: [path.join(dir, 'moved.mmdb')] }), {
      'moved.mmdb': movedCityDatabase({ '3.0.0.0/9': 'tyo', '3.128.0.0/9': 'tyo' }),
    });
    const r = compareSnapshots(base, next, settings);
    const cdn = r.records.find((x) => x.record === 'cdn.example.net')!;
    expect(cdn.sampled).toBe(20_000);
    expect(cdn.movedPct).toBeGreaterThan(28);
    expect(cdn.moves.map((m) => `${m.from}->${m.to}`).sort()).toEqual(['nyc->tyo', 'sfo->tyo']);
    expect(cdn.moves.reduce((s, m) => s + m.networks, 0)).toBe(cdn.moved);
    expect(cdn.examples.length).toBe(4); // at most two per (from, to) pair
    for (const e of cdn.examples) expect(e.network).toMatch(/^3\.\d+\.\d+\.0\/24$/);
    expect(r.over).toBe(true);
    expect(r.worst).toEqual({
      record: expect.any(String),
      movedPct: cdn.movedPct,
      spaceShiftPct: cdn.spaceShiftPct.ipv4,
    });
    expect(formatChangeReport(r)).toMatch(new RegExp(`over the 5% change guard: held \\(id ${r.id}\\)`));
    expect(r.id).toBe(changeId(next));
  });

  it('a policy edit is compared too: everything nearest-to-Europe sent elsewhere shows up', () => {
    const next = snapshot(
      testConfig({
        policies:
          '  nearest:\n    candidates: 3\n    steps:\n      - continent: { EU: [syd] }\n      - nearest: {}\n    fallback: [fra, nyc]',
      }),
    );
    const r = compareSnapshots(base, next, settings);
    const cdn = r.records.find((x) => x.record === 'cdn.example.net')!;
    expect(cdn.moves.every((m) => m.to === 'syd')).toBe(true);
    expect(cdn.moves.map((m) => m.from)).toEqual(expect.arrayContaining(['fra', 'lon']));
    expect(r.over).toBe(true);
  });

  it('a threshold above the move lets it through', () => {
    const next = snapshot(testConfig({ databases: [path.join(dir, 'moved2.mmdb')] }), {
      'moved2.mmdb': movedCityDatabase({ '6.0.0.0/16': 'fra' }),
    });
    const r = compareSnapshots(base, next, settings);
    expect(r.records[0].movedPct).toBeLessThan(1);
    expect(r.records[0].moves).toEqual([
      { from: 'syd', to: 'fra', networks: r.records[0].moved, pct: r.records[0].movedPct },
    ]);
    expect(r.over).toBe(false);
  });
});

describe('addressSpace', () => {
  it('shares of each family sum to 1 over the PoPs (every leaf has a first choice)', () => {
    const s = addressSpace(base.policies[0], base.pops.length);
    expect(s.ipv4.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(s.ipv6.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(base.policies[0].space!.ipv4).toEqual(s.ipv4);
  });
});
