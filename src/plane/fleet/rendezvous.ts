/**
 * Who probes which PoP: rendezvous (highest-random-weight) hashing, Thaler and
 * Ravishankar 1996. Every member scores every PoP with a hash of the pair; the
 * R highest scores probe it. Every instance computes the same answer from the
 * same member list with no coordination, and when a member leaves only the
 * PoPs it probed get a new prober (the others' top-R lists do not change);
 * when one joins it takes only the PoPs where it scores into the top R. Pure.
 */
import { createHash } from 'node:crypto';

/** The pair's score: the first 48 bits of SHA-256(member NUL pop), exact in a double. */
export function rendezvousScore(member: string, pop: string): number {
  return createHash('sha256').update(member).update('\0').update(pop).digest().readUIntBE(0, 6);
}

/** The `replicas` members that probe `pop`, best score first (ties, astronomically rare, by name). */
export function chooseProbers(pop: string, members: readonly string[], replicas: number): string[] {
  return members
    .map((m) => ({ m, score: rendezvousScore(m, pop) }))
    .sort((a, b) => b.score - a.score || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0))
    .slice(0, Math.max(0, replicas))
    .map((x) => x.m);
}

/** Every PoP's probers. */
export function assignProbers(
  pops: readonly string[],
  members: readonly string[],
  replicas: number,
): Map<string, string[]> {
  const unique = [...new Set(members)];
  return new Map(pops.map((pop) => [pop, chooseProbers(pop, unique, replicas)]));
}

/** The PoPs that `member` probes under `assignment`. */
export function popsProbedBy(assignment: ReadonlyMap<string, readonly string[]>, member: string): string[] {
  return [...assignment].filter(([, probers]) => probers.includes(member)).map(([pop]) => pop);
}
