/**
 * The layout is a rule, not a habit: every file of src/ belongs to a room,
 * imports only what its room may import (test/architecture/rules.ts: data
 * flows one way, the data plane never reaches the control plane, wire/ knows
 * no policy, nothing imports the command line), the query path keeps no
 * module-level state, and every room has its README. The checker is also run
 * on hand-made violations, so it is known to fail when it should.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';
import {
  importsOf,
  moduleState,
  READ_ONLY_TABLES,
  ROOMS,
  roomOf,
  type SourceFile,
  sourceFiles,
  violation,
} from './rules.js';

const SRC = path.join(ROOT, 'src');
const files = sourceFiles(SRC);

/** Violations in a one-line file at `rel` importing `spec`. */
const check = (rel: string, line: string): string[] =>
  importsOf({ rel, text: line })
    .map(violation)
    .filter((v): v is string => v !== null);

describe('import rules', () => {
  it('every file of src/ is in a known room', () => {
    expect(files.length).toBeGreaterThan(120);
    const unknown = files.map((f) => f.rel).filter((rel) => !(roomOf(rel) in ROOMS));
    expect(unknown).toEqual([]);
  });

  it('no file imports against the pipeline', () => {
    const edges = files.flatMap(importsOf);
    expect(edges.length).toBeGreaterThan(400);
    expect(edges.map(violation).filter(Boolean)).toEqual([]);
  });

  it('nothing imports the command line', () => {
    const intoCli = files.flatMap(importsOf).filter((e) => roomOf(e.to) === 'cli' && roomOf(e.from) !== 'cli.ts');
    expect(intoCli.filter((e) => roomOf(e.from) !== 'cli')).toEqual([]);
  });

  it.each([
    ['the data plane imports the control plane', 'query/handle-query.ts', "import { x } from '../plane/server.js';"],
    [
      'a transport imports the query handler',
      'transport/udp.ts',
      "import { handleQuery } from '../query/handle-query.js';",
    ],
    ['wire imports policy', 'wire/query.ts', "import { lookup } from '../policy/trie.js';"],
    ['wire imports a zone', 'wire/response.ts', "import type { Plan } from '../zone/answers.js';"],
    [
      'the build side imports the control plane',
      'build/snapshot.ts',
      "import { ControlPlane } from '../plane/control-plane.js';",
    ],
    ['anything imports the command line', 'plane/serve.ts', "import { main } from '../cli/program.js';"],
    ['the signing core imports the runtime', 'dnssec/rrsig.ts', "import type { Runtime } from '../build/runtime.js';"],
    ['the fleet core imports the data plane', 'plane/fleet/link.ts', "import { DataPlane } from '../data-plane.js';"],
    ['a value import where only types may cross', 'query/context.ts', "import { Runtime } from '../build/runtime.js';"],
    [
      'a type-only room used for values',
      'policy/rules.ts',
      "import { loadConfigFile } from '../build/config/load.js';",
    ],
    ['a leaf imports a stage', 'net/ip.ts', "import { QType } from '../wire/constants.js';"],
    ['a re-export against the pipeline', 'ecs/subnet.ts', "export { parseQuery } from '../wire/query.js';"],
  ])('the checker fails when %s', (_what, rel, line) => {
    expect(check(rel, line)).toHaveLength(1);
  });

  it('the checker allows what the rules allow', () => {
    expect(check('query/context.ts', "import type { Runtime } from '../build/runtime.js';")).toEqual([]);
    expect(check('query/context.ts', "import { type Runtime } from '../build/runtime.js';")).toEqual([]);
    expect(check('plane/server.ts', "import { DataPlane } from './data-plane.js';")).toEqual([]);
    expect(check('zone/build.ts', "import type { ZoneConfig } from '../build/config/schema.js';")).toEqual([]);
    expect(check('plane/fleet/config.ts', "import { duration } from '../../build/config/schema.js';")).toEqual([]);
  });
});

describe('the query path keeps no module-level state', () => {
  it('no query-path file has module-level let/var or objects made at load (but read-only tables)', () => {
    expect(files.flatMap(moduleState)).toEqual([]);
    // Each allowed table exists (a stale entry would hide nothing, but says something untrue).
    for (const key of Object.keys(READ_ONLY_TABLES)) {
      const [rel, name] = key.split(' ');
      expect(readFileSync(path.join(SRC, rel), 'utf8'), key).toMatch(
        new RegExp(`^(?:export )?(?:const|let) ${name}\\b`, 'm'),
      );
    }
  });

  it.each([
    ['let lastResponseSize = 0;'],
    ['export let lastResponseSize = 0;'],
    ['const q = new ParsedQuery();'],
    ['var sample = 0;'],
  ])('the check fails on `%s` in a query-path file', (line) => {
    const file: SourceFile = { rel: 'query/handle-query.ts', text: `import x from 'y';\n${line}\n` };
    expect(moduleState(file)).toHaveLength(1);
  });

  it('outside the query path it does not apply', () => {
    expect(moduleState({ rel: 'plane/serve.ts', text: 'let stopping = false;\n' })).toEqual([]);
  });
});

/** Rooms that are folders, and the ones whose README also carries a phase-2 plan (longer). */
const FOLDERS = Object.keys(ROOMS).filter((r) => existsSync(path.join(SRC, r)) && !r.endsWith('.ts'));
const FEATURE_CORES = new Set(['rrl', 'cookie', 'dnssec', 'plane/fleet']);

describe('every room has its README', () => {
  it.each(FOLDERS)('src/%s/README.md says what it owns, may import, what never imports it, its entry point', (room) => {
    const file = path.join(SRC, room, 'README.md');
    expect(existsSync(file), file).toBe(true);
    const text = readFileSync(file, 'utf8');
    for (const item of [/\bowns\b/i, /\bmay\s+import\b/i, /\bnever\s+imported\s+by\b/i, /\bentry\s+points?\b/i]) {
      expect(text, `${room}/README.md: ${item}`).toMatch(item);
    }
    const lines = text.trimEnd().split('\n').length;
    if (!FEATURE_CORES.has(room)) {
      expect(lines, `${room}/README.md has ${lines} lines`).toBeGreaterThanOrEqual(20);
      expect(lines, `${room}/README.md has ${lines} lines`).toBeLessThanOrEqual(40);
    }
  });
});
