/**
 * ECS scope properties (docs/design.md, the decision trie), with fast-check, over random
 * IPv4 and IPv6 addresses biased towards the fixture networks, the CIDR rules
 * and their edges:
 *
 *  1. soundness: for the (decision, depth) a lookup returns, every address
 *     sharing the first `depth` bits gets the same decision;
 *  2. maximality: the scope is never narrower than needed: the sibling
 *     subtree at that depth holds an address with a different decision
 *     (found by walking the compiled trie and by brute force on the fixture's
 *     known boundaries through the independent oracle in
 *     test/unit/policy/support.ts);
 *  3. correctness: the decision is the oracle's.
 *
 * First on the compiled trie directly (thousands of runs), then end to end
 * over UDP/TCP with a real server: the answer for any address inside the
 * returned scope equals the original's.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { decisionOf, depthOf, lookup } from '../../src/policy/trie.js';
import { DBIP_V4, DBIP_V6, TEST_POPS, testConfig } from '../helpers/configs.js';
import { addresses, tcpQuery, udpQuery, type Reply } from '../helpers/dns.js';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  bigToBytes,
  bitsOf,
  cidr,
  compileFixture,
  decisionPops,
  formatCidr,
  lastOf,
  Oracle,
  oracleNetworks,
  prefixOf,
  SCOPE_POLICY,
  SCOPE_REFERENCE,
  SCOPE_RULES,
  trieDecisionsUnder,
  type Cidr,
  type DbLayout,
} from '../unit/policy/support.js';

const RULES = SCOPE_RULES;
const POLICY = SCOPE_POLICY;
const REFERENCE = SCOPE_REFERENCE;
const POLICY_YAML = `  nearest:
    candidates: 3
    steps:
      - cidr:
${Object.entries(RULES)
  .map(([p, pops]) => `          "${p}": [${pops.join(', ')}]`)
  .join('\n')}
      - nearest: {}
    fallback: [fra, nyc]`;

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

function clamp(v: bigint, family: 4 | 6): bigint {
  const top = (1n << BigInt(bitsOf(family))) - 1n;
  return v < 0n ? 0n : v > top ? top : v;
}

/** Interesting prefixes: the database networks of the layout and the CIDR rules. */
function anchors(layout: DbLayout, family: 4 | 6): Cidr[] {
  return [
    ...oracleNetworks(layout, family).map((n) => cidr(n.cidr)),
    ...Object.keys(RULES)
      .map(cidr)
      .filter((c) => c.family === family),
  ];
}

/** Addresses: inside an anchor, at its first/last address, just outside it, a few bits away from an edge, or anywhere. */
function addressArb(layout: DbLayout, family: 4 | 6, extra: Cidr[] = []): fc.Arbitrary<bigint> {
  const bits = bitsOf(family);
  const near = fc.constantFrom(...anchors(layout, family), ...extra).chain((c) =>
    fc.oneof(
      fc.constant(c.base),
      fc.constant(lastOf(c)),
      fc.constant(clamp(c.base - 1n, family)),
      fc.constant(clamp(lastOf(c) + 1n, family)),
      fc.bigInt({ min: c.base, max: lastOf(c) }),
      fc
        .integer({ min: 0, max: bits - 1 })
        .chain((k) => fc.tuple(fc.boolean(), fc.bigInt({ min: -(1n << BigInt(k)), max: 1n << BigInt(k) })))
        .map(([fromEnd, d]) => clamp((fromEnd ? lastOf(c) + 1n : c.base) + d, family)),
    ),
  );
  const anywhere = fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
  return fc.oneof({ arbitrary: near, weight: 5 }, { arbitrary: anywhere, weight: 1 });
}

/** A random address sharing the first `depth` bits of `a`. */
function sameScope(a: bigint, depth: number, family: 4 | 6): fc.Arbitrary<bigint> {
  const host = BigInt(bitsOf(family) - depth);
  const base = (a >> host) << host;
  return fc.bigInt({ min: 0n, max: (1n << host) - 1n }).map((h) => base | h);
}

// ---------------------------------------------------------------------------
// 1. The compiled trie
// ---------------------------------------------------------------------------

function lookupBig(c: CompiledPolicy, family: 4 | 6, a: bigint): { id: number; depth: number } {
  const bytes = bigToBytes(a, family);
  const packed = lookup(family === 4 ? c.v4 : c.v6, bytes, 0, bytes.length);
  return { id: decisionOf(packed), depth: depthOf(packed) };
}

function trieProperties(layout: DbLayout, family: 4 | 6, runs: number) {
  const compiled = compileFixture(POLICY, { layout });
  const oracle = new Oracle(family, REFERENCE, layout);
  const trie = family === 4 ? compiled.v4 : compiled.v6;
  const bits = bitsOf(family);

  it(`${layout} IPv${family}: the decision is the oracle's, sound over the whole scope, and maximal`, () => {
    fc.assert(
      fc.property(
        addressArb(layout, family).chain((a) => {
          const { depth } = lookupBig(compiled, family, a);
          return fc.tuple(fc.constant(a), fc.array(sameScope(a, depth, family), { minLength: 3, maxLength: 3 }));
        }),
        ([a, others]) => {
          const { id, depth } = lookupBig(compiled, family, a);
          const decision = decisionPops(compiled, id).join(',');
          const where = `${formatCidr(prefixOf(a, bits, family))} -> ${decision} /${depth}`;
          // 3. correct
          expect(decision, where).toBe(oracle.decisionAt(a).join(','));
          // 1. sound: random addresses in the scope, through the trie and through the oracle
          for (const b of others)
            expect(lookupBig(compiled, family, b).id, `${where}: ${formatCidr(prefixOf(b, bits, family))}`).toBe(id);
          expect([...oracle.decisionsIn(prefixOf(a, depth, family))], where).toEqual([decision]);
          // 2. maximal
          if (depth > 0) {
            const flip = 1n << BigInt(bits - depth);
            const sibling = prefixOf(a ^ flip, depth, family);
            const siblingBytes = bigToBytes(sibling.base, family);
            const inTrie = trieDecisionsUnder(trie, siblingBytes, depth);
            expect(
              inTrie.size > 1 || !inTrie.has(id),
              `${where}: the sibling ${formatCidr(sibling)} is all ${decision}`,
            ).toBe(true);
            // Brute force: a witness address in the sibling with another decision (oracle), which the trie agrees on.
            const candidates = [
              sibling.base,
              ...oracle.boundaries.filter((x) => x > sibling.base && x <= lastOf(sibling)),
            ];
            const witness = candidates.find((x) => oracle.decisionAt(x).join(',') !== decision);
            expect(witness, `${where}: no address in ${formatCidr(sibling)} decides differently`).not.toBeUndefined();
            expect(lookupBig(compiled, family, witness!).id).not.toBe(id);
            expect(oracle.expectedScope(a), where).toBe(depth);
          }
        },
      ),
      { numRuns: runs },
    );
  });

  it(`${layout} IPv${family}: a truncated (ECS) lookup decides for the masked address`, () => {
    fc.assert(
      fc.property(addressArb(layout, family), fc.integer({ min: 0, max: bits }), (a, source) => {
        const masked = prefixOf(a, source, family).base;
        const bytes = bigToBytes(masked, family);
        const packed = lookup(trie, bytes, 0, Math.ceil(source / 8));
        expect(decisionPops(compiled, decisionOf(packed)).join(',')).toBe(oracle.decisionAt(masked).join(','));
        expect(depthOf(packed)).toBe(lookupBig(compiled, family, masked).depth);
      }),
      { numRuns: Math.round(runs / 2) },
    );
  });
}

describe('scope properties on the compiled trie', () => {
  trieProperties('city', 4, 5000);
  trieProperties('city', 6, 5000);
  trieProperties('dbip', 4, 2000);
  trieProperties('dbip', 6, 2000);
});

// ---------------------------------------------------------------------------
// 2. End to end over UDP and TCP
// ---------------------------------------------------------------------------

/** ECS option data for a query: FAMILY, SOURCE, SCOPE 0, ADDRESS truncated to ceil(source/8). */
function ecsOption(family: 4 | 6, source: number, a: bigint): { code: number; data: Buffer } {
  const masked = prefixOf(a, source, family).base;
  const bytes = bigToBytes(masked, family).subarray(0, Math.ceil(source / 8));
  return { code: 8, data: Buffer.concat([Buffer.from([0, family === 4 ? 1 : 2, source, 0]), Buffer.from(bytes)]) };
}

interface EcsQuery {
  family: 4 | 6;
  source: number;
  addr: bigint;
  qtype: 'A' | 'AAAA';
  tcp: boolean;
}

function ask(port: number, q: EcsQuery): Promise<Reply> {
  const send = q.tcp ? tcpQuery : udpQuery;
  return send(port, { name: 'cdn.example.net', type: q.qtype, options: [ecsOption(q.family, q.source, q.addr)] });
}

const MAPPED = cidr('::ffff:0:0/96');

/** Source lengths: the common ones resolvers send, and anything. */
function sourceArb(family: 4 | 6): fc.Arbitrary<number> {
  const common = family === 4 ? [8, 16, 20, 24, 32] : [32, 48, 56, 64, 96, 104, 112, 120, 128];
  return fc.oneof(fc.constantFrom(...common), fc.integer({ min: 1, max: bitsOf(family) }));
}

/** IPv6 anchors beyond the databases: the IPv4-mapped space the server answers as IPv4. */
const EXTRA6 = [MAPPED, cidr('::ffff:600:0/112'), cidr('::ffff:100:0/109'), cidr('::ffff:300:0/105'), cidr('::/96')];

function queryArb(layout: DbLayout): fc.Arbitrary<EcsQuery> {
  const extra6 = EXTRA6;
  return fc
    .record({
      family: fc.constantFrom<4 | 6>(4, 6),
      qtype: fc.constantFrom<'A' | 'AAAA'>('A', 'AAAA'),
      tcp: fc.boolean(),
      seed4: addressArb(layout, 4),
      seed6: addressArb(layout, 6, extra6),
      s4: sourceArb(4),
      s6: sourceArb(6),
    })
    .map((r) => ({
      family: r.family,
      qtype: r.qtype,
      tcp: r.tcp,
      addr: r.family === 4 ? r.seed4 : r.seed6,
      source: r.family === 4 ? r.s4 : r.s6,
    }));
}

function endToEnd(layout: DbLayout, runs: number) {
  describe(`end to end over UDP/TCP (${layout} layout)`, () => {
    let t: TestServer;
    const oracle4 = new Oracle(4, REFERENCE, layout);
    const oracles = { 4: oracle4, 6: new Oracle(6, REFERENCE, layout) };
    /** Edges of every database network, rule and extra anchor: where answers may change. */
    const interestingPoints = (family: 4 | 6): bigint[] => {
      const list = family === 4 ? anchors(layout, 4) : [...anchors(layout, 6), ...EXTRA6];
      return list.flatMap((c) => [c.base, lastOf(c), c.base + (lastOf(c) - c.base) / 2n]);
    };
    beforeAll(async () => {
      t = await startServer(
        testConfig({ policies: POLICY_YAML, databases: layout === 'city' ? undefined : [DBIP_V4, DBIP_V6] }),
      );
    });
    afterAll(() => t.close());

    const popAddress = (pop: string, qtype: 'A' | 'AAAA') => (qtype === 'A' ? TEST_POPS[pop].v4 : TEST_POPS[pop].v6);

    it("the answer is the oracle's, and any address inside the returned scope gets the same answer", async () => {
      await fc.assert(
        fc.asyncProperty(
          queryArb(layout),
          fc.record({
            noise: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
            pick: fc.nat(),
            interesting: fc.boolean(),
            fullLength: fc.boolean(),
            extraBits: fc.nat(128),
            tcp: fc.boolean(),
          }),
          async (q, o) => {
            const r = await ask(t.port, q);
            const where = `ECS ${formatCidr(prefixOf(q.addr, q.source, q.family))} ${q.qtype}`;
            expect(r.rcode, where).toBe(0);
            expect(r.ecs, where).not.toBeNull();
            const scope = r.ecs!.scope;
            const answer = addresses(r);
            expect(answer, where).toHaveLength(1);
            const masked = prefixOf(q.addr, q.source, q.family).base;
            const mapped = q.family === 6 && q.source >= 96 && masked >> 32n === 0xffffn;
            // The expected answer, from the oracle (an IPv4-mapped ECS is the IPv4 client).
            const decision = mapped ? oracle4.decisionAt(masked & 0xffffffffn) : oracles[q.family].decisionAt(masked);
            expect(answer[0], where).toBe(popAddress(decision[0], q.qtype));
            expect(scope, where).toBeGreaterThan(0);
            // Another address inside the scope: random, or one of the interesting points (network and rule
            // edges, the IPv4-mapped space) that fall inside it; queried with a source at least the scope.
            const bits = bitsOf(q.family);
            const inScope = prefixOf(masked, scope, q.family);
            const points = interestingPoints(q.family).filter((x) => x >= inScope.base && x <= lastOf(inScope));
            const host = BigInt(bits - scope);
            const other =
              o.interesting && points.length > 0
                ? points[o.pick % points.length]
                : inScope.base | (o.noise & ((1n << host) - 1n));
            const source2 = o.fullLength ? bits : scope + (o.extraBits % (bits - scope + 1));
            const r2 = await ask(t.port, { ...q, addr: other, source: source2, tcp: o.tcp });
            expect(
              addresses(r2),
              `${where} answered ${answer[0]} with scope /${scope}, but ECS ${formatCidr(prefixOf(other, source2, q.family))} inside that scope got ${addresses(r2)[0]} (scope /${r2.ecs?.scope})`,
            ).toEqual(answer);
          },
        ),
        { numRuns: runs },
      );
    });
  });
}

endToEnd('city', 300);
endToEnd('dbip', 300);
