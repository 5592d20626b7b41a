/**
 * The admin state file (src/health/state-file.ts): "<pop> UP|DOWN|DRAIN"
 * lines, '#' comments, keywords in any case, bad lines reported with their
 * 1-based line number. Pure parsing, no files.
 */
import { describe, expect, it } from 'vitest';
import { parseStateFile } from '../../../src/health/state-file.js';

const entries = (text: string) => [...parseStateFile(text).overrides.entries()];

describe('admin state file parser', () => {
  it.each([
    ['fra UP', [['fra', 'force-up']]],
    ['fra DOWN', [['fra', 'force-down']]],
    ['fra DRAIN', [['fra', 'drain']]],
    ['fra drain', [['fra', 'drain']]],
    ['fra Down', [['fra', 'force-down']]],
    ['fra up', [['fra', 'force-up']]],
    ['  fra \t DRAIN  ', [['fra', 'drain']]],
    ['fra DRAIN # maintenance until 14:00', [['fra', 'drain']]],
    [
      'fra DRAIN\r\nlon DOWN\r\n',
      [
        ['fra', 'drain'],
        ['lon', 'force-down'],
      ],
    ],
  ])('%j -> %j', (text, expected) => {
    const r = parseStateFile(text);
    expect(r.errors).toEqual([]);
    expect([...r.overrides.entries()]).toEqual(expected);
  });

  it('empty text, blank lines and comment-only lines give no overrides and no errors', () => {
    for (const text of ['', '\n\n', '# nothing drained\n   \n\t\n# fra DRAIN\n', '#fra DRAIN']) {
      expect(parseStateFile(text)).toEqual({ overrides: new Map(), local: new Set(), errors: [] });
    }
  });

  it('a line ending in "local" is marked local (in a fleet it applies on this instance only); a later line of the PoP decides', () => {
    const r = parseStateFile('fra DRAIN local\nlon DOWN\nnyc UP LOCAL\nnyc UP\nsyd DRAIN fleet\n');
    expect(r.errors.map((e) => e.line)).toEqual([5]);
    expect([...r.overrides.entries()]).toEqual([
      ['fra', 'drain'],
      ['lon', 'force-down'],
      ['nyc', 'force-up'],
    ]);
    expect([...r.local]).toEqual(['fra']);
  });

  it('several PoPs, one line each', () => {
    const text = [
      '# maintenance plan',
      'fra DRAIN',
      '',
      'lon DOWN',
      'nyc UP  # pinned up while probes are broken',
      '',
    ].join('\n');
    expect(entries(text)).toEqual([
      ['fra', 'drain'],
      ['lon', 'force-down'],
      ['nyc', 'force-up'],
    ]);
  });

  it('bad lines are reported with their line numbers and skipped; good lines still apply', () => {
    const text = [
      '# header', // 1
      'fra DRAIN', // 2
      'lon', // 3: no state
      'nyc MAYBE', // 4: unknown state
      'sfo DRAIN now', // 5: too many words
      '', // 6
      'tyo DOWN', // 7
      'syd  # DRAIN', // 8: the state is commented out
    ].join('\n');
    const r = parseStateFile(text);
    expect([...r.overrides.entries()]).toEqual([
      ['fra', 'drain'],
      ['tyo', 'force-down'],
    ]);
    expect(r.errors.map((e) => e.line)).toEqual([3, 4, 5, 8]);
    expect(r.errors[0].message).toContain('"lon"');
    expect(r.errors[1].message).toContain('"nyc MAYBE"');
    expect(r.errors[2].message).toContain('"sfo DRAIN now"');
    for (const e of r.errors) expect(e.message).toMatch(/UP\|DOWN\|DRAIN/);
  });

  it('line numbers count CRLF lines the same as LF lines', () => {
    const r = parseStateFile('fra DRAIN\r\n\r\nbogus\r\n');
    expect(r.errors).toEqual([{ line: 3, message: expect.stringContaining('bogus') }]);
  });
});
