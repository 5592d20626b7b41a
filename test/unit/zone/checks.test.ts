/**
 * Load-time checks for the record types with placement rules: DNAME (RFC
 * 6672 2.3/2.4: no descendants, one per owner, not at a delegation point)
 * and DS (RFC 4035 2.4: at a delegation point, never at the apex), plus YAML
 * record keys (mnemonics, TYPEnnn, and "did you mean" for a misspelt type).
 * Every problem is reported at the YAML node, with the others of the config.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/build/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { buildSnapshot } from '../../../src/build/snapshot.js';

const zone = (records: string, extra = '') => `zones:
  - origin: example.net.
    soa: { mname: ns1, rname: h@example.net, serial: 1 }
    ns: [ns1]
    records:
      ns1: { A: [192.0.2.1] }
${records}${extra}`;

/** "line:column path: message" of every problem, or [] when the config builds. */
function problems(text: string): string[] {
  try {
    buildSnapshot(parseConfigText(text, 'm.yaml'));
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
  }
}

describe('DNAME placement', () => {
  it('a DNAME with data beside it (not below) builds', () => {
    expect(problems(zone('      old: { DNAME: example.org., TXT: ["moved"] }\n'))).toEqual([]);
  });

  it('data below a DNAME owner is refused at the owner written below it', () => {
    expect(problems(zone('      old: { DNAME: example.org. }\n      www.old: { A: [192.0.2.2] }\n'))).toEqual([
      '8:7 zones[0].records["www.old"]: www.old.example.net is below the DNAME at old.example.net: a DNAME owner has no descendants (RFC 6672 2.3)',
    ]);
  });

  it('two DNAMEs at one owner, a DNAME next to a CNAME, a DNAME at a delegation point', () => {
    expect(
      problems(
        zone(
          '      two: { DNAME: [a.example., b.example.] }\n      both: { DNAME: a.example., CNAME: b.example. }\n      cut: { NS: [ns.example.], DNAME: c.example. }\n',
        ),
      ),
    ).toEqual([
      '7:7 zones[0].records.two: two.example.net has more than one DNAME (RFC 6672 2.4)',
      '8:7 zones[0].records.both: both.example.net has a CNAME and other data (RFC 1034 3.6.2)',
      '9:7 zones[0].records.cut: cut.example.net is a delegation point: it cannot own a DNAME',
    ]);
  });

  it('a geo record or another zone below a DNAME is refused', () => {
    const pops = `pops:\n  fra: { location: [50, 8], ipv4: [192.0.2.10] }\npolicies:\n  p: { steps: [nearest: {}] }\n`;
    const text =
      pops +
      zone(
        '      old: { DNAME: example.org. }\n',
        '    geo:\n      cdn.old: { policy: p }\n  - origin: sub.old.example.net.\n    soa: { mname: ns1, rname: h@example.net, serial: 1 }\n    ns: [ns1]\n',
      );
    expect(problems(text)).toEqual([
      '13:7 zones[0].geo["cdn.old"]: cdn.old.example.net is below the DNAME at old.example.net (RFC 6672 2.3)',
      '14:13 zones[1].origin: zone sub.old.example.net is below the DNAME at old.example.net in zone example.net (RFC 6672 2.3)',
    ]);
  });
});

describe('DS placement', () => {
  const DS = '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118';
  it('DS at a delegation point builds; at the apex or at a name without NS it is refused', () => {
    expect(problems(zone(`      sub: { NS: [ns.example.], DS: ["${DS}"] }\n`))).toEqual([]);
    expect(problems(zone(`      "@": { DS: ["${DS}"] }\n      leaf: { DS: ["${DS}"] }\n`))).toEqual([
      '7:7 zones[0].records["@"]: the DS of example.net belongs in the parent zone (RFC 4035 2.4), not at the apex',
      '8:7 zones[0].records.leaf: leaf.example.net has DS records but no NS: DS belongs at a delegation point (RFC 4035 2.4)',
    ]);
  });
});

describe('YAML record types', () => {
  it('mnemonics in any case, TYPEnnn, and RFC 3597 generic values; TXT needs no quotes in any spelling', () => {
    const text = zone(
      '      x: { https: "1 . alpn=h2", TYPE65400: "\\\\# 3 abcdef", txt: [two words], TYPE16: ["\\\\# 6 0568656c6c6f"] }\n',
    );
    expect(problems(text)).toEqual([]);
    const s = buildSnapshot(parseConfigText(text, 'm.yaml'));
    expect(s.zones[0].records.filter((r) => r.type === 'TXT').map((r) => r.data)).toEqual([['two words'], ['hello']]);
  });

  it('a misspelt type is an error at its key, with the closest type; a bad value at the value', () => {
    expect(problems(zone('      x: { HTTP: "1 ." , SVCB: "1 . alpn" }\n'))).toEqual([
      expect.stringMatching(
        /^7:12 zones\[0\]\.records\.x\.HTTP: "HTTP": unknown record type 'HTTP' \(did you mean "HTTPS"\?\)/,
      ),
    ]);
    expect(problems(zone('      x: { SVCB: "1 . alpn", TYPE0: "\\\\# 0" }\n'))).toEqual([
      '7:30 zones[0].records.x.TYPE0: "TYPE0": type 0 is reserved',
    ]);
    expect(problems(zone('      x: { SVCB: "1 . alpn" }\n'))).toEqual([
      '7:18 zones[0].records.x.SVCB: SVCB alpn needs a value',
    ]);
  });
});
