/**
 * "Did you mean" suggestions for misspelt names (config keys, PoP and policy
 * names, record types), by edit distance (fastest-levenshtein).
 */
import { distance } from 'fastest-levenshtein';

/**
 * The closest of `known` to `input`, when it is close enough to be a typo:
 * one edit for names up to 3 characters, two up to 6 (a swapped pair of
 * letters is two), a third of the length beyond; case differences count as
 * typos. Null otherwise.
 */
export function closest(input: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    if (k === input) continue;
    const d = distance(input.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  if (best === null) return null;
  const longer = Math.max(input.length, best.length);
  const limit = longer <= 3 ? 1 : longer <= 6 ? 2 : Math.floor(longer / 3);
  return bestDistance <= limit ? best : null;
}

/** ` (did you mean "X"?)` or the empty string. */
export function didYouMean(input: string, known: Iterable<string>): string {
  const c = closest(input, known);
  return c === null ? '' : ` (did you mean "${c}"?)`;
}
