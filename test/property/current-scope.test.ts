/**
 * Scopes of the answer a client gets now (src/policy/answer-merge.ts), with
 * fast-check, against brute force:
 *
 *  1. Generated tries: an address space cut into 2^D cells at resolution D
 *     (D <= 9), each cell a random decision, laid out as a trie merged by
 *     decision (as the compiler does) or not merged at all; random PoPs,
 *     families, health and max_answers. For every cell, the oracle knows the
 *     decision from the cell array alone and the answer from the query path's
 *     GeoAnswers.choose(); the merged trie must give that answer (correct),
 *     every cell inside the returned scope the same answer (sound), and the
 *     scope one bit wider a cell with another answer (maximal).
 *  2. The IPv4 graft: a generated IPv6 trie whose ::ffff:0:0/96 holds a
 *     generated IPv4 trie, the rest of the space random leaves along the path.
 *     Brute force over every region of constant decision: the merged IPv6
 *     trie is correct, sound and maximal across the graft, and a mapped client
 *     gets the same answer through the merged IPv4 trie (the query path's way
 *     for a source of /96 or longer) as through the merged IPv6 trie.
 *  3. The real fixture databases (city.mmdb, the DB-IP layout, ASN) with the
 *     compiler's policies: CIDR rules + nearest + fallback, latency with
 *     tolerance groups and weights, spilling PoPs at /22 and /44, and a mix;
 *     random health states, families and max_answers. Exhaustive over both
 *     families (every compiled leaf against the merged leaf covering it,
 *     test/helpers/scope-check.ts), and, for the nearest policy, at random
 *     addresses against the independent oracle of test/unit/policy/support.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../../src/build/config/schema.js';
import { openDatabases } from '../../src/geo/open.js';
import { classifyDecisions } from '../../src/policy/answer-key.js';
import { AnswerMerger } from '../../src/policy/answer-merge.js';
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import type { PopInfo } from '../../src/policy/rules.js';
import { decisionOf, depthOf, lookup, TrieBuilder, type FamilyTrie } from '../../src/policy/trie.js';
import { familyFlags, scenarioArb, table } from '../helpers/answer-scenarios.js';
import { ASN_DB, CITY_DB, DBIP_V4, DBIP_V6 } from '../helpers/configs.js';
import { checkMergedTrie, queryPathAnswer, type PopFamilies } from '../helpers/scope-check.js';
import {
  bigToBytes,
  bitsOf,
  cidr,
  lastOf,
  MAPPED_BASE,
  Oracle,
  oracleNetworks,
  POP_IDS,
  prefixOf,
  SCOPE_POLICY,
  SCOPE_REFERENCE,
  SCOPE_RULES,
  tablesFor,
  TEST_POP_INFOS,
  TUNED_POPS,
  type Cidr,
  type DbLayout,
} from '../unit/policy/support.js';

const merger = new AnswerMerger();

/** Lay `cells` (2^D decisions in address order) out as a trie; `merged`: siblings with one decision become a leaf, as the compiler does. */
function trieOfCells(b: TrieBuilder, cells: readonly number[], merged: boolean): number {
  const build = (lo: number, size: number): number => {
    if (size === 1) return ~cells[lo];
    const l = build(lo, size / 2);
    const r = build(lo + size / 2, size / 2);
    return merged && l < 0 && l === r ? l : b.push(l, r);
  };
  return build(0, cells.length);
}

/** D, and 2^D cells: runs of 2^r equal decisions with a few point changes, so merges happen at every level. */
const cellsArb = (decisions: number) =>
  fc
    .integer({ min: 0, max: 9 })
    .chain((d) => fc.tuple(fc.constant(d), fc.integer({ min: 0, max: d })))
    .chain(([d, r]) =>
      fc.tuple(
        fc.constant(d),
        fc
          .array(fc.nat(decisions - 1), { minLength: 2 ** (d - r), maxLength: 2 ** (d - r) })
          .map((base) => base.flatMap((x) => new Array<number>(2 ** r).fill(x))),
        fc.array(fc.tuple(fc.nat(2 ** d - 1), fc.nat(decisions - 1)), { maxLength: 4 }),
      ),
    )
    .map(([d, cells, changes]) => {
      for (const [at, x] of changes) cells[at] = x;
      return { d, cells };
    });

describe('generated tries: correct, sound and maximal against brute force', () => {
  it('every cell of the address space, for any decisions, health, families and max_answers', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) =>
          fc.record({ s: fc.constant(s), c: cellsArb(s.rankings.length), premerged: fc.boolean(), low: fc.nat() }),
        ),
        ({ s, c, premerged, low }) => {
          const t = table(s.rankings, s.k);
          const answer = queryPathAnswer(t, s.families, s.maxAnswers, s.qtype, s.serving);
          const b = new TrieBuilder();
          const trie = b.finish(trieOfCells(b, c.cells, premerged));
          const classes = classifyDecisions(
            t,
            { serving: s.serving, hasFamily: familyFlags(s.families, s.qtype), maxAnswers: s.maxAnswers },
            s.popCount,
          );
          const { trie: m, leaves } = merger.merge(trie, classes);
          const cellAnswer = c.cells.map(answer);
          const seen = new Set<string>();
          const problems: string[] = [];
          for (let x = 0; x < c.cells.length; x++) {
            // The cell's address, any host bits below the resolution.
            const addr = (c.d === 0 ? low : x * 2 ** (32 - c.d) + (low % 2 ** (32 - c.d))) >>> 0;
            const packed = lookup(
              m,
              Uint8Array.of(addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255),
              0,
              4,
            );
            const depth = depthOf(packed);
            const got = answer(decisionOf(packed));
            if (got !== cellAnswer[x]) problems.push(`cell ${x}: answers ${got}, the oracle ${cellAnswer[x]}`);
            if (depth > c.d) problems.push(`cell ${x}: scope /${depth} deeper than the cells`);
            const key = `${depth}:${x >> (c.d - depth)}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const size = 2 ** (c.d - depth);
            const lo = Math.floor(x / size) * size;
            const odd = cellAnswer.slice(lo, lo + size).findIndex((a) => a !== cellAnswer[x]);
            if (odd >= 0)
              problems.push(
                `cell ${x}: cell ${lo + odd} inside the scope /${depth} answers ${cellAnswer[lo + odd]}, not ${cellAnswer[x]} (unsound)`,
              );
            const plo = Math.floor(x / (size * 2)) * size * 2;
            if (depth > 0 && cellAnswer.slice(plo, plo + size * 2).every((a) => a === cellAnswer[x]))
              problems.push(`cell ${x}: /${depth - 1} is all ${cellAnswer[x]} (not maximal)`);
          }
          expect(problems, `cells ${c.cells.join(' ')}, answers ${cellAnswer.join(' | ')}`).toEqual([]);
          expect(leaves).toBe(seen.size);
        },
      ),
      { numRuns: 4000 },
    );
  });
});

// ---------------------------------------------------------------------------
// 2. The IPv4 graft at ::ffff:0:0/96
// ---------------------------------------------------------------------------

interface Cell {
  c: Cidr;
  decision: number;
  /** Last address of c. */
  last: bigint;
}

/** Indices of the cells that overlap prefix `p`. */
function cellsIn(cells: readonly Cell[], p: Cidr): number[] {
  const lo = p.base;
  const hi = lastOf(p);
  const out: number[] = [];
  cells.forEach((cell, i) => {
    if (cell.c.base <= hi && cell.last >= lo) out.push(i);
  });
  return out;
}

/**
 * An IPv6 trie: along the path to ::ffff:0:0/96 (80 zero bits, 16 one bits)
 * the branch off the path at depth i+1 is a leaf `off[i]`; at /96 the IPv4
 * trie of `cells4`. Returns the trie and its regions of constant decision.
 */
function graftedV6(off: readonly number[], cells4: readonly number[], d4: number): { trie: FamilyTrie; cells: Cell[] } {
  const b = new TrieBuilder();
  let ref = trieOfCells(b, cells4, true);
  const cell = (base: bigint, len: number, decision: number): Cell => {
    const c: Cidr = { family: 6, base, len };
    return { c, decision, last: lastOf(c) };
  };
  const cells: Cell[] = cells4.map((decision, x) =>
    cell(MAPPED_BASE + (BigInt(x) << BigInt(32 - d4)), 96 + d4, decision),
  );
  for (let i = 95; i >= 0; i--) {
    const pathBit = i >= 80 ? 1 : 0;
    const pathBase = i >= 80 ? (MAPPED_BASE >> BigInt(128 - i)) << BigInt(128 - i) : 0n;
    cells.push(cell(pathBase | (BigInt(1 - pathBit) << BigInt(127 - i)), i + 1, off[i]));
    const l = pathBit === 0 ? ref : ~off[i];
    const r = pathBit === 0 ? ~off[i] : ref;
    ref = l < 0 && l === r ? l : b.push(l, r);
  }
  return { trie: b.finish(ref), cells };
}

describe('the IPv4 graft in the IPv6 trie stays sound and consistent with the IPv4 trie', () => {
  it('brute force over every region of constant decision, and mapped clients through either trie', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) =>
          fc.record({
            s: fc.constant(s),
            c: cellsArb(s.rankings.length).filter((c) => c.d <= 6),
            // Mostly one decision off the path, so wide IPv6 scopes reach the graft.
            off: fc.array(
              fc.oneof(
                { arbitrary: fc.constant(0), weight: 6 },
                { arbitrary: fc.nat(s.rankings.length - 1), weight: 1 },
              ),
              { minLength: 96, maxLength: 96 },
            ),
          }),
        ),
        ({ s, c, off }) => {
          const t = table(s.rankings, s.k);
          const answer = queryPathAnswer(t, s.families, s.maxAnswers, s.qtype, s.serving);
          const classes = classifyDecisions(
            t,
            { serving: s.serving, hasFamily: familyFlags(s.families, s.qtype), maxAnswers: s.maxAnswers },
            s.popCount,
          );
          const b4 = new TrieBuilder();
          const m4 = merger.merge(b4.finish(trieOfCells(b4, c.cells, true)), classes).trie;
          const v6 = graftedV6(off, c.cells, c.d);
          const m6 = merger.merge(v6.trie, classes).trie;
          const answers = v6.cells.map((cell) => answer(cell.decision));
          v6.cells.forEach((cell, i) => {
            const bytes = bigToBytes(cell.c.base, 6);
            const packed = lookup(m6, bytes, 0, 16);
            const depth = depthOf(packed);
            const where = `${cell.c.base.toString(16)}/${cell.c.len}`;
            expect(answer(decisionOf(packed)), where).toBe(answers[i]);
            const odd = cellsIn(v6.cells, prefixOf(cell.c.base, depth, 6)).find((j) => answers[j] !== answers[i]);
            expect(
              odd === undefined ? answers[i] : answers[odd],
              `${where}: scope /${depth} holds ${odd === undefined ? '' : v6.cells[odd].c.base.toString(16)}`,
            ).toBe(answers[i]);
            if (depth > 0) {
              const wider = cellsIn(v6.cells, prefixOf(cell.c.base, depth - 1, 6));
              expect(
                wider.some((j) => answers[j] !== answers[i]),
                `${where}: /${depth - 1} is all one answer`,
              ).toBe(true);
            }
            if (cell.c.len > 96) {
              // The query path answers ::ffff:a.b.c.d/96+n from the IPv4 trie with scope 96 + its depth.
              const p4 = lookup(m4, bytes, 12, 4);
              expect(answer(decisionOf(p4)), `${where} through the IPv4 trie`).toBe(answers[i]);
              const odd4 = cellsIn(v6.cells, prefixOf(cell.c.base, 96 + depthOf(p4), 6)).find(
                (j) => answers[j] !== answers[i],
              );
              expect(
                odd4,
                `${where}: a cell inside the IPv4 scope /${96 + depthOf(p4)} answers otherwise`,
              ).toBeUndefined();
            }
          });
        },
      ),
      { numRuns: 600 },
    );
  });
});

// ---------------------------------------------------------------------------
// 3. The fixture databases and the compiler's policies
// ---------------------------------------------------------------------------

const NEAREST = SCOPE_POLICY;
const RULES = SCOPE_RULES;
const LATENCY: PolicyConfig = {
  candidates: 3,
  steps: [{ latency: { tolerance_ms: 5, tolerance_pct: 20 } }],
  fallback: ['fra', 'nyc', 'tyo'],
  spill_granularity_v4: 22,
  spill_granularity_v6: 44,
};
const MIXED: PolicyConfig = {
  candidates: 4,
  steps: [
    { cidr: { '3.0.0.0/12': ['syd', 'gru'], '2600:0:8000::/33': ['jnb'] } },
    { country: { JP: ['tyo', 'syd'] } },
    { latency: { tolerance_ms: 2, tolerance_pct: 10 } },
  ],
  fallback: ['nyc', 'fra'],
  spill_granularity_v4: 22,
  spill_granularity_v6: 44,
};

function compileWith(p: PolicyConfig, pops: readonly PopInfo[], layout: DbLayout, asn: boolean): CompiledPolicy {
  const { tables, issues } = tablesFor(p, pops);
  if (issues.length > 0) throw new Error(`policy issues: ${JSON.stringify(issues)}`);
  const dbs = openDatabases(layout === 'city' ? [CITY_DB] : [DBIP_V4, DBIP_V6], asn ? ASN_DB : null);
  return compilePolicy(tables, pops, {
    city4: dbs.city4,
    city6: dbs.city6,
    asn4: dbs.asn4,
    asn6: dbs.asn6,
    latency: null,
  });
}

interface State {
  serving: Uint8Array;
  families: PopFamilies[];
  maxAnswers: number;
  qtype: 'A' | 'AAAA';
}

/** Health, families (mostly dual-stack), max_answers and answer type for the fixture PoPs. */
const stateArb: fc.Arbitrary<State> = fc.record({
  serving: fc
    .array(fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.constant(0), weight: 1 }), {
      minLength: POP_IDS.length,
      maxLength: POP_IDS.length,
    })
    .map((a) => Uint8Array.from(a)),
  families: fc.array(
    fc.oneof(
      { arbitrary: fc.constant<PopFamilies>({ v4: true, v6: true }), weight: 4 },
      fc.record({ v4: fc.boolean(), v6: fc.boolean() }),
    ),
    { minLength: POP_IDS.length, maxLength: POP_IDS.length },
  ),
  maxAnswers: fc.integer({ min: 1, max: 3 }),
  qtype: fc.constantFrom<'A' | 'AAAA'>('A', 'AAAA'),
});

function mergeFor(c: CompiledPolicy, st: State) {
  const classes = classifyDecisions(
    c,
    { serving: st.serving, hasFamily: familyFlags(st.families, st.qtype), maxAnswers: st.maxAnswers },
    POP_IDS.length,
  );
  return {
    classes,
    v4: merger.merge(c.v4, classes),
    v6: merger.merge(c.v6, classes),
    answer: queryPathAnswer(c, st.families, st.maxAnswers, st.qtype, st.serving),
  };
}

describe('fixture databases: exhaustive soundness and maximality under random health', () => {
  const cases: Array<{ name: string; compiled: () => CompiledPolicy; runs: number }> = [
    {
      name: 'CIDR rules + nearest + fallback, city.mmdb',
      compiled: () => compileWith(NEAREST, TEST_POP_INFOS, 'city', false),
      runs: 150,
    },
    {
      name: 'CIDR rules + nearest + fallback, DB-IP layout',
      compiled: () => compileWith(NEAREST, TEST_POP_INFOS, 'dbip', false),
      runs: 150,
    },
    {
      name: 'latency (tolerance groups, weights), spill at /22 and /44, city.mmdb + ASN',
      compiled: () => compileWith(LATENCY, TUNED_POPS, 'city', true),
      runs: 150,
    },
    {
      name: 'CIDR + country + latency with spill, K=4, DB-IP layout + ASN',
      compiled: () => compileWith(MIXED, TUNED_POPS, 'dbip', true),
      runs: 150,
    },
  ];
  for (const { name, compiled, runs } of cases) {
    it(name, () => {
      const c = compiled();
      let narrower = 0;
      fc.assert(
        fc.property(stateArb, (st) => {
          const m = mergeFor(c, st);
          for (const [family, compiledTrie, merged] of [
            [4, c.v4, m.v4],
            [6, c.v6, m.v6],
          ] as const) {
            const check = checkMergedTrie(compiledTrie, merged.trie, family, m.answer);
            expect(check.violations, `IPv${family}`).toEqual([]);
            expect(check.mergedLeaves).toBe(merged.leaves);
            expect(merged.leaves).toBeLessThanOrEqual(family === 4 ? c.stats.leaves4 : c.stats.leaves6);
            if (merged.leaves < (family === 4 ? c.stats.leaves4 : c.stats.leaves6)) narrower++;
          }
        }),
        { numRuns: runs },
      );
      // The point of it all: merging by the current answer is wider than the full ranking somewhere.
      expect(narrower).toBeGreaterThan(0);
    });
  }

  it('spill blocks: twin sibling blocks (first two candidates swapped) merge exactly when both answer alike', () => {
    const c = compileWith(LATENCY, TUNED_POPS, 'city', true);
    const k = c.candidates;
    const rank = (d: number) => [...c.decisions.subarray(d * k, d * k + k)];
    // Sibling leaves of the compiled IPv4 trie whose decisions are a spill pair: [a, b, rest] next to [b, a, rest].
    const twins: Array<{ base: bigint; depth: number; a: number; b: number }> = [];
    const walk = (ref: number, base: bigint, depth: number) => {
      if (ref < 0) return;
      const l = c.v4.nodes[ref * 2];
      const r = c.v4.nodes[ref * 2 + 1];
      if (l < 0 && r < 0) {
        const [x, y] = [rank(~l), rank(~r)];
        if (x[0] === y[1] && x[1] === y[0] && x.slice(2).join() === y.slice(2).join())
          twins.push({ base, depth, a: x[0], b: x[1] });
      }
      walk(l, base, depth + 1);
      walk(r, base | (1n << BigInt(31 - depth)), depth + 1);
    };
    walk(c.v4.root, 0n, 0);
    expect(twins.length).toBeGreaterThan(0);
    const allDual = POP_IDS.map(() => ({ v4: true, v6: true }));
    for (const t of twins.slice(0, 20)) {
      const scopeOf = (serving: Uint8Array, maxAnswers: number) => {
        const m = mergeFor(c, { serving, families: allDual, maxAnswers, qtype: 'A' });
        return depthOf(lookup(m.v4.trie, bigToBytes(t.base, 4), 0, 4));
      };
      const up = new Uint8Array(POP_IDS.length).fill(1);
      const down = (...pops: number[]) => up.map((v, i) => (pops.includes(i) ? 0 : v));
      // a vs b, "b degraded" vs "b", "a" vs "a degraded": different answers, the blocks stay apart.
      expect(scopeOf(up, 1)).toBeGreaterThan(t.depth);
      expect(scopeOf(down(t.a), 1)).toBeGreaterThan(t.depth);
      expect(scopeOf(down(t.b), 1)).toBeGreaterThan(t.depth);
      // Both down: each answers the third candidate, degraded, and the two blocks are one scope.
      if (k > 2 && rank(0).length > 2) expect(scopeOf(down(t.a, t.b), 1)).toBeLessThanOrEqual(t.depth);
    }
  });
});

describe('fixture databases: against the independent oracle, address by address', () => {
  for (const layout of ['city', 'dbip'] as const) {
    for (const family of [4, 6] as const) {
      it(`${layout} IPv${family}: the merged trie's answer and scope agree with the oracle's decisions`, () => {
        const c = compileWith(NEAREST, TEST_POP_INFOS, layout, false);
        const oracle = new Oracle(family, SCOPE_REFERENCE, layout);
        const idOf = new Map<string, number>();
        for (let d = 0; d < c.decisionCount; d++) {
          const ids: string[] = [];
          for (let i = 0; i < c.candidates; i++)
            if (c.decisions[d * c.candidates + i] >= 0) ids.push(POP_IDS[c.decisions[d * c.candidates + i]]);
          idOf.set(ids.join(','), d);
        }
        const anchors = [
          ...oracleNetworks(layout, family).map((n) => cidr(n.cidr)),
          ...Object.keys(RULES)
            .map(cidr)
            .filter((x) => x.family === family),
        ];
        if (family === 6) anchors.push(cidr('::ffff:0:0/96'), cidr('::ffff:100:0/104'));
        const bits = bitsOf(family);
        const addrArb = fc.oneof(
          fc
            .constantFrom(...anchors)
            .chain((a) =>
              fc.oneof(fc.constant(a.base), fc.constant(lastOf(a)), fc.bigInt({ min: a.base, max: lastOf(a) })),
            ),
          fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }),
        );
        fc.assert(
          fc.property(stateArb, fc.array(addrArb, { minLength: 20, maxLength: 20 }), (st, addrs) => {
            const m = mergeFor(c, st);
            const trie = family === 4 ? m.v4.trie : m.v6.trie;
            const answerOfRanking = (r: string) => {
              const d = idOf.get(r);
              expect(d, `the oracle's decision ${r} is one the compiler made`).not.toBeUndefined();
              return m.answer(d!);
            };
            for (const a of addrs) {
              const packed = lookup(trie, bigToBytes(a, family), 0, bits / 8);
              const depth = depthOf(packed);
              const mine = m.answer(decisionOf(packed));
              const where = `${a.toString(16)} scope /${depth}`;
              expect(mine, where).toBe(answerOfRanking(oracle.decisionAt(a).join(',')));
              const inside = [...oracle.decisionsIn(prefixOf(a, depth, family))].map(answerOfRanking);
              expect(new Set(inside), `${where}: sound`).toEqual(new Set([mine]));
              if (family === 6 && a >> 32n === 0xffffn) {
                // A mapped client with a source of /96 or more is answered from the merged IPv4 trie.
                expect(
                  m.answer(decisionOf(lookup(m.v4.trie, bigToBytes(a, 6), 12, 4))),
                  `${where} through the IPv4 trie`,
                ).toBe(mine);
              }
              if (depth > 0) {
                const wider = [...oracle.decisionsIn(prefixOf(a, depth - 1, family))].map(answerOfRanking);
                expect(new Set(wider).size, `${where}: maximal`).toBeGreaterThan(1);
              }
            }
          }),
          { numRuns: 60 },
        );
      });
    }
  }
});
