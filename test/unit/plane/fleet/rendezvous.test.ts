/**
 * Rendezvous hashing (src/plane/fleet/rendezvous.ts): R distinct probers per PoP,
 * the same answer whatever the member order, an even spread, and minimal
 * movement: a dead member's PoPs move, nobody else's do.
 */
import { describe, expect, it } from 'vitest';
import { assignProbers, chooseProbers, popsProbedBy, rendezvousScore } from '../../../../src/plane/fleet/rendezvous.js';

const POPS = Array.from({ length: 60 }, (_, i) => `pop${i}`);
const MEMBERS = Array.from({ length: 8 }, (_, i) => `ns${i}.example.net`);

describe('rendezvous hashing', () => {
  it('scores are deterministic 48-bit integers that depend on both member and PoP', () => {
    const s = rendezvousScore('ns1', 'fra');
    expect(s).toBe(rendezvousScore('ns1', 'fra'));
    expect(Number.isSafeInteger(s)).toBe(true);
    expect(s).toBeLessThan(2 ** 48);
    expect(rendezvousScore('ns1', 'ams')).not.toBe(s);
    expect(rendezvousScore('ns2', 'fra')).not.toBe(s);
    // The separator keeps ("ab","c") and ("a","bc") apart.
    expect(rendezvousScore('ab', 'c')).not.toBe(rendezvousScore('a', 'bc'));
  });

  it('chooses R distinct live members per PoP, whatever order the members come in', () => {
    const a = assignProbers(POPS, MEMBERS, 3);
    const b = assignProbers(POPS, [...MEMBERS].reverse(), 3);
    for (const pop of POPS) {
      expect(new Set(a.get(pop)).size).toBe(3);
      expect(a.get(pop)).toEqual(b.get(pop));
      for (const m of a.get(pop)!) expect(MEMBERS).toContain(m);
    }
  });

  it('gives every member when there are fewer members than R, and nobody when there are none', () => {
    expect(chooseProbers('fra', ['a', 'b'], 3).sort()).toEqual(['a', 'b']);
    expect(chooseProbers('fra', [], 3)).toEqual([]);
    expect(assignProbers(['fra'], ['a', 'a', 'b'], 3).get('fra')!.sort()).toEqual(['a', 'b']);
  });

  it('spreads the probing evenly: with 8 members, R=2 and 60 PoPs each member probes 15 +- 9', () => {
    const a = assignProbers(POPS, MEMBERS, 2);
    for (const m of MEMBERS) {
      const n = popsProbedBy(a, m).length;
      expect(n, m).toBeGreaterThanOrEqual(6);
      expect(n, m).toBeLessThanOrEqual(24);
    }
    const total = MEMBERS.reduce((s, m) => s + popsProbedBy(a, m).length, 0);
    expect(total).toBe(POPS.length * 2);
  });

  it('when a member dies only its share moves; every other (PoP, prober) pair stays', () => {
    const before = assignProbers(POPS, MEMBERS, 3);
    const dead = MEMBERS[3];
    const after = assignProbers(
      POPS,
      MEMBERS.filter((m) => m !== dead),
      3,
    );
    let moved = 0;
    for (const pop of POPS) {
      const was = before.get(pop)!;
      const now = after.get(pop)!;
      const kept = was.filter((m) => m !== dead);
      // Survivors keep probing what they probed.
      for (const m of kept) expect(now).toContain(m);
      if (was.includes(dead)) {
        moved++;
        expect(now).not.toContain(dead);
        expect(now.length).toBe(3);
      } else expect(now).toEqual(was);
    }
    expect(moved).toBe(popsProbedBy(before, dead).length);
    expect(moved).toBeGreaterThan(0);
  });

  it('when a member joins it takes PoPs only where it scores into the top R', () => {
    const before = assignProbers(POPS, MEMBERS, 3);
    const after = assignProbers(POPS, [...MEMBERS, 'new.example.net'], 3);
    for (const pop of POPS) {
      const gained = after.get(pop)!.filter((m) => !before.get(pop)!.includes(m));
      expect(gained.every((m) => m === 'new.example.net')).toBe(true);
    }
  });
});
