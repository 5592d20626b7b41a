/**
 * "Did you mean": a typo gets the closest known name; a name unlike any known
 * one gets no suggestion (a wrong hint is worse than none).
 */
import { describe, expect, it } from 'vitest';
import { closest, didYouMean } from '../../../src/util/did-you-mean.js';

describe('closest', () => {
  it.each([
    ['intervall', ['interval', 'timeout', 'rise'], 'interval'],
    ['helth', ['health', 'geo', 'pops'], 'health'],
    ['contry', ['cidr', 'asn', 'country', 'continent'], 'country'],
    ['HTTP', ['HTTPS', 'SVCB', 'A'], 'HTTPS'],
    ['lonn', ['fra', 'lon', 'iad'], 'lon'],
    ['Fra', ['fra', 'lon'], 'fra'],
    ['chekc', ['serve', 'check', 'explain'], 'check'],
    ['colour', ['location', 'ipv4', 'weight'], null],
    ['abc', ['xyz', 'fra'], null],
    ['x', ['fra', 'lon'], null],
    ['health', ['health'], null],
  ])('%s among %j -> %s', (input, known, expected) => {
    expect(closest(input, known)).toBe(expected);
  });

  it('says it as a parenthesis, or not at all', () => {
    expect(didYouMean('globl', ['global'])).toBe(' (did you mean "global"?)');
    expect(didYouMean('zzz', ['global'])).toBe('');
  });
});
