import { describe, expect, it } from 'vitest';
import {
  isSubdomain,
  nameToWire,
  parentName,
  relativeLabels,
  resolveName,
  toCanonical,
  validateName,
} from '../../../src/zone/names.js';

describe('toCanonical', () => {
  it.each([
    ['@', 'example.org', 'example.org'],
    ['@', '', ''],
    ['.', 'example.org', ''],
    ['www', 'example.org', 'www.example.org'],
    ['WWW.Sub', 'Example.org', 'www.sub.example.org'],
    ['www', '', 'www'],
    ['www.example.net.', 'example.org', 'www.example.net'],
    ['MiXeD.Example.NET.', 'example.org', 'mixed.example.net'],
    ['*', 'example.org', '*.example.org'],
    ['_sip._tcp', 'example.org', '_sip._tcp.example.org'],
  ])('%s relative to %s is %s', (name, origin, expected) => {
    expect(toCanonical(name, origin)).toBe(expected);
  });

  it.each([
    ['a\\.b', /escaped characters/],
    ['a\\065', /escaped characters/],
    ['', /empty name/],
  ])('rejects %j', (name, message) => {
    expect(() => toCanonical(name, 'example.org')).toThrow(message);
  });
});

describe('validateName', () => {
  const label63 = 'a'.repeat(63);
  it.each([
    [''],
    ['example.org'],
    ['*.example.org'],
    ['_dmarc.example.org'],
    ['xn--bcher-kva.example'],
    ['UPPER.example'],
    [`${label63}.example`],
    // 3 x (1 + 63) + (1 + 61) + 1 root octet = 255 octets on the wire, the maximum
    [[label63, label63, label63, 'a'.repeat(61)].join('.')],
  ])('accepts %j', (name) => {
    expect(validateName(name)).toBeNull();
  });

  it.each([
    ['a..b', /empty label/],
    ['example.org.', /empty label/],
    [`${'a'.repeat(64)}.example`, /64 octets long, max 63/],
    [[label63, label63, label63, 'a'.repeat(62)].join('.'), /256 octets .* max 255/],
    ['www.*.example', /only allowed as the leftmost label/],
    ['a*.example', /'\*' must be a whole label/],
    ['foo bar.example', /invalid character ' '/],
    ['foo!.example', /invalid character '!'/],
    ['bücher.example', /invalid character 'ü'/],
  ])('rejects %j', (name, message) => {
    expect(validateName(name)).toMatch(message);
  });
});

describe('resolveName', () => {
  it('resolves and validates', () => {
    expect(resolveName('Ns1', 'example.org')).toBe('ns1.example.org');
    expect(() => resolveName('a..', 'example.org')).toThrow(/empty label/);
    expect(() => resolveName('a\\.b', 'example.org')).toThrow(/escaped/);
  });
});

describe('isSubdomain', () => {
  it.each([
    ['www.example.org', 'example.org', true],
    ['example.org', 'example.org', true],
    ['example.org', '', true],
    ['', '', true],
    ['a.b.example.org', 'example.org', true],
    ['badexample.org', 'example.org', false],
    ['example.org', 'www.example.org', false],
    ['', 'example.org', false],
  ])('%j under %j is %s', (name, ancestor, expected) => {
    expect(isSubdomain(name, ancestor)).toBe(expected);
  });
});

describe('relativeLabels', () => {
  it.each([
    ['a.b.example.org', 'example.org', ['a', 'b']],
    ['example.org', 'example.org', []],
    ['www.example.org', '', ['www', 'example', 'org']],
    ['', '', []],
  ])('%j below %j', (name, ancestor, expected) => {
    expect(relativeLabels(name, ancestor)).toEqual(expected);
  });

  it('throws when not a subdomain', () => {
    expect(() => relativeLabels('badexample.org', 'example.org')).toThrow(/not a subdomain/);
  });
});

describe('parentName', () => {
  it.each([
    ['www.example.org', 'example.org'],
    ['org', ''],
    ['*.example.org', 'example.org'],
  ])('parent of %j is %j', (name, expected) => {
    expect(parentName(name)).toBe(expected);
  });

  it('throws for the root', () => {
    expect(() => parentName('')).toThrow(/root/);
  });
});

describe('nameToWire', () => {
  it.each([
    ['', [0]],
    ['org', [3, 0x6f, 0x72, 0x67, 0]],
    ['a.bc', [1, 0x61, 2, 0x62, 0x63, 0]],
  ])('%j', (name, bytes) => {
    expect([...nameToWire(name)]).toEqual(bytes);
  });

  it('rejects empty and over-long labels', () => {
    expect(() => nameToWire('a..b')).toThrow(/length 0/);
    expect(() => nameToWire('a'.repeat(64))).toThrow(/length 64/);
  });
});
