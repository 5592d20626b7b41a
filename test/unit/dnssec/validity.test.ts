/**
 * Signature validity as a pure function of now, RFC 1982 time comparison,
 * DNSSEC time text, and the bounded signature cache.
 */
import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../../src/dnssec/signature-cache.js';
import { compareSerialTime, formatDnssecTime, parseDnssecTime, toSerialTime } from '../../../src/dnssec/time.js';
import {
  checkValidityPolicy,
  DEFAULT_VALIDITY,
  jitterSeed,
  needsRefresh,
  signatureWindow,
} from '../../../src/dnssec/validity.js';
import { nameWire } from '../../../src/dnssec/name-wire.js';

const DAY = 86400;
const NOW = 1_800_000_000;

describe('signature window', () => {
  it('defaults: inception 1 h back, 14 days lifetime less jitter up to 1 day, refresh 7 days before expiry', () => {
    expect(DEFAULT_VALIDITY).toEqual({ lifetime: 14 * DAY, refresh: 7 * DAY, inceptionOffset: 3600, jitter: DAY });
    const w = signatureWindow(NOW, DEFAULT_VALIDITY, 0);
    expect(w).toEqual({ inception: NOW - 3600, expiration: NOW + 14 * DAY, refreshAt: NOW + 7 * DAY });
    const j = signatureWindow(NOW + 0.9, DEFAULT_VALIDITY, 12345);
    expect(j.expiration).toBe(NOW + 14 * DAY - 12345);
    expect(j.inception).toBe(NOW - 3600);
  });

  it('is pure: the same now and seed give the same window; different RRsets spread over the jitter', () => {
    const seeds = ['a', 'b', 'c', 'www', 'mail', 'cdn'].map((n) => jitterSeed(nameWire(`${n}.example.net`), 1));
    expect(jitterSeed(nameWire('www.example.net'), 1)).toBe(
      jitterSeed(Buffer.from(nameWire('WWW.example.net').toString('latin1').toUpperCase(), 'latin1'), 1),
    );
    expect(new Set(seeds).size).toBe(seeds.length);
    const expirations = seeds.map((s) => signatureWindow(NOW, DEFAULT_VALIDITY, s).expiration);
    for (const e of expirations) {
      expect(e).toBeGreaterThan(NOW + 13 * DAY - 1);
      expect(e).toBeLessThanOrEqual(NOW + 14 * DAY);
    }
    expect(new Set(expirations).size).toBeGreaterThan(1);
    expect(signatureWindow(NOW, DEFAULT_VALIDITY, seeds[0])).toEqual(signatureWindow(NOW, DEFAULT_VALIDITY, seeds[0]));
  });

  it('needsRefresh turns true refresh seconds before expiry', () => {
    const w = signatureWindow(NOW, DEFAULT_VALIDITY, 0);
    expect(needsRefresh(w.expiration, w.refreshAt - 1, DEFAULT_VALIDITY)).toBe(false);
    expect(needsRefresh(w.expiration, w.refreshAt, DEFAULT_VALIDITY)).toBe(true);
  });

  it('checkValidityPolicy explains unusable policies', () => {
    expect(checkValidityPolicy(DEFAULT_VALIDITY, 86400)).toEqual([]);
    expect(checkValidityPolicy({ ...DEFAULT_VALIDITY, refresh: 14 * DAY })[0]).toMatch(/less than the lifetime/);
    expect(checkValidityPolicy(DEFAULT_VALIDITY, 8 * DAY)[0]).toMatch(/largest TTL/);
    expect(checkValidityPolicy({ ...DEFAULT_VALIDITY, lifetime: 2 ** 31 })[0]).toMatch(/68 years/);
    expect(checkValidityPolicy({ ...DEFAULT_VALIDITY, jitter: -1 })[0]).toMatch(/jitter must be a whole number/);
  });
});

describe('DNSSEC times', () => {
  it('formats and parses YYYYMMDDHHmmSS in UTC', () => {
    expect(formatDnssecTime(1440021600)).toBe('20150819220000');
    expect(parseDnssecTime('20150819220000')).toBe(1440021600);
    expect(() => parseDnssecTime('20151332000000')).toThrow(/not a valid date/);
    expect(() => parseDnssecTime('2015')).toThrow(/YYYYMMDDHHMMSS/);
  });

  it('compares 32-bit times in serial arithmetic across the 2106 wrap', () => {
    const before = toSerialTime(2 ** 32 - 10);
    const after = toSerialTime(2 ** 32 + 10);
    expect(after).toBe(10);
    expect(compareSerialTime(before, after)).toBeLessThan(0);
    expect(compareSerialTime(after, before)).toBeGreaterThan(0);
    expect(compareSerialTime(5, 5)).toBe(0);
  });
});

describe('BoundedCache', () => {
  it('keeps at most capacity entries, evicts the least recently used, counts everything', () => {
    const c = new BoundedCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now the most recent
    c.set('c', 3); // evicts b
    expect(c.get('b')).toBeUndefined();
    expect(c.get('c')).toBe(3);
    expect(c.size).toBe(2);
    expect(c.counters).toEqual({ hits: 2, misses: 1, inserts: 3, evictions: 1 });
    c.set('c', 4); // replace: no eviction
    expect(c.counters.evictions).toBe(1);
    c.clear();
    expect(c.size).toBe(0);
  });

  it('stays bounded under a flood of distinct names', () => {
    const c = new BoundedCache<string>(1000);
    for (let i = 0; i < 50_000; i++) if (c.get(`n${i}.example`) === undefined) c.set(`n${i}.example`, 'sig');
    expect(c.size).toBe(1000);
    expect(c.counters).toEqual({ hits: 0, misses: 50_000, inserts: 50_000, evictions: 49_000 });
  });

  it('rejects a capacity below 1', () => {
    expect(() => new BoundedCache(0)).toThrow(/capacity/);
  });
});
