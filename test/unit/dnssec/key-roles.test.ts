/**
 * Key timing states (BIND semantics) and which keys publish, sign and go
 * into CDS/CDNSKEY: CSK, KSK+ZSK, a ZSK pre-publish roll, a key that signs
 * but is not published.
 */
import { describe, expect, it } from 'vitest';
import { RRType } from '../../../src/dnssec/constants.js';
import { cdsKeys, keySetProblems, publishedKeys, signersFor, type TimedKey } from '../../../src/dnssec/key-roles.js';
import { keyStateAt, nextTimingEvent } from '../../../src/dnssec/key-timing.js';

const T = 1_800_000_000;
const key = (keyTag: number, flags: number, timing: TimedKey['timing'], algorithm = 13): TimedKey => ({
  keyTag,
  flags,
  algorithm,
  timing,
});
const tags = (ks: TimedKey[]) => ks.map((k) => k.keyTag);

describe('keyStateAt', () => {
  it('legacy keys without dates are published and signing', () => {
    expect(keyStateAt({}, T)).toEqual({ published: true, signing: true, revoked: false, inCds: false });
  });

  it('follows Publish, Activate, Inactive, Delete, SyncPublish, SyncDelete', () => {
    const timing = {
      Created: T - 10,
      Publish: T,
      Activate: T + 100,
      Inactive: T + 200,
      Delete: T + 300,
      SyncPublish: T + 150,
      SyncDelete: T + 250,
    };
    const at = (t: number) => keyStateAt(timing, t);
    expect(at(T - 1)).toMatchObject({ published: false, signing: false });
    expect(at(T)).toMatchObject({ published: true, signing: false });
    expect(at(T + 100)).toMatchObject({ published: true, signing: true, inCds: false });
    expect(at(T + 150)).toMatchObject({ inCds: true });
    expect(at(T + 200)).toMatchObject({ published: true, signing: false });
    expect(at(T + 250)).toMatchObject({ inCds: false });
    expect(at(T + 300)).toMatchObject({ published: false, signing: false });
    expect(nextTimingEvent([timing], T + 100)).toBe(T + 150);
    expect(nextTimingEvent([timing], T + 300)).toBeUndefined();
  });
});

describe('key roles', () => {
  const live = { Publish: T - 100, Activate: T - 100 };

  it('a CSK signs everything and is the CDS key', () => {
    const keys = [key(1, 257, live)];
    expect(tags(signersFor(keys, RRType.A, T))).toEqual([1]);
    expect(tags(signersFor(keys, RRType.DNSKEY, T))).toEqual([1]);
    expect(tags(cdsKeys(keys, T))).toEqual([1]);
    expect(keySetProblems(keys, T, (k) => `key ${k.keyTag}`)).toEqual([]);
  });

  it('KSK + ZSK: the KSK signs DNSKEY/CDS/CDNSKEY, the ZSK the rest', () => {
    const keys = [key(1, 257, live), key(2, 256, live)];
    expect(tags(signersFor(keys, RRType.DNSKEY, T))).toEqual([1]);
    expect(tags(signersFor(keys, RRType.CDS, T))).toEqual([1]);
    expect(tags(signersFor(keys, RRType.SOA, T))).toEqual([2]);
    expect(tags(cdsKeys(keys, T))).toEqual([1]);
  });

  it('ZSK pre-publish: the new ZSK is in the DNSKEY RRset but does not sign until its Activate', () => {
    const keys = [
      key(1, 257, live),
      key(2, 256, { ...live, Inactive: T + 1000 }),
      key(3, 256, { Publish: T - 50, Activate: T + 1000 }),
    ];
    expect(tags(publishedKeys(keys, T))).toEqual([1, 2, 3]);
    expect(tags(signersFor(keys, RRType.A, T))).toEqual([2]);
    expect(tags(signersFor(keys, RRType.A, T + 1000))).toEqual([3]);
  });

  it('CDS follows Sync dates when any key has them', () => {
    const keys = [key(1, 257, { ...live, SyncPublish: T + 10 }), key(4, 257, live)];
    expect(tags(cdsKeys(keys, T))).toEqual([]);
    expect(tags(cdsKeys(keys, T + 10))).toEqual([1]);
  });

  it('reports a key that signs but is not published, and an algorithm without a SEP key', () => {
    const keys = [key(1, 257, { Activate: T - 10, Delete: T - 5 }), key(2, 256, live, 15)];
    const problems = keySetProblems(keys, T, (k) => `key ${k.keyTag}`);
    expect(problems).toContain('key 1 is signing but not published: validators could not verify its signatures');
    expect(problems.some((p) => /algorithm 15 signs but has no signing KSK/.test(p))).toBe(true);
    expect(keySetProblems([key(1, 257, { Publish: T + 5, Activate: T + 5 })], T, String)[0]).toMatch(
      /no key is signing/,
    );
  });
});
