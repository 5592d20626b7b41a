/**
 * Conventions that keep docs and code in step: every stable error code and
 * every metric is documented, and metric names follow Prometheus rules.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { ROOT } from './helpers/server.js';

const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');

describe('conventions', () => {
  it('every error code is documented in docs/operations.md', () => {
    const doc = read('docs/operations.md');
    for (const code of ERROR_CODES) expect(doc, code).toContain(code);
  });

  it('every error class in src/errors.ts is in ERROR_CODES', () => {
    const src = read('src/errors.ts');
    const codes = [...src.matchAll(/readonly code = '([A-Z_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(0);
    expect([...codes].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('every metric defined in the source is documented in docs/metrics.md, with Prometheus-style names', () => {
    const doc = read('docs/metrics.md');
    const dir = path.join(ROOT, 'src', 'observability');
    const names = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) =>
        [
          ...readFileSync(path.join(dir, f), 'utf8').matchAll(
            /(?:name: |scrapeTimeMetric\(\s*register,\s*)'(meridian_[a-z0-9_]+)'/g,
          ),
        ].map((m) => m[1]),
      );
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      expect(doc, name).toContain(`\`${name}\``);
      expect(name).toMatch(/^meridian_[a-z][a-z0-9_]*$/);
    }
  });

  it('every MERIDIAN_* environment variable the code reads is documented in docs/config.md', () => {
    const doc = read('docs/config.md');
    const table = doc.slice(doc.indexOf('## Environment variables'));
    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const f of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, f.name);
        if (f.isDirectory()) walk(full);
        else if (f.name.endsWith('.ts'))
          for (const m of readFileSync(full, 'utf8').matchAll(/process\.env\.(MERIDIAN_[A-Z_]+)/g)) names.add(m[1]);
      }
    };
    walk(path.join(ROOT, 'src'));
    // The admin token's variable is named by the config (admin.token_env); the sample names this one.
    names.add(/token_env: (MERIDIAN_[A-Z_]+)/.exec(read('config/meridian.yaml'))![1]);
    expect(names.size).toBeGreaterThanOrEqual(5);
    for (const name of names) expect(table, name).toContain(`\`${name}\``);
  });

  it('every top-level config section is documented in docs/config.md', () => {
    const doc = read('docs/config.md');
    const schema = read('src/build/config/schema.ts');
    const block = schema.slice(schema.indexOf('export const configSchema'));
    const sections = [...block.matchAll(/^ {2}([a-z_]+): /gm)].map((m) => m[1]);
    expect(sections).toEqual(
      expect.arrayContaining(['server', 'admin', 'logging', 'geo', 'health', 'pops', 'policies', 'zones']),
    );
    for (const s of sections) expect(doc).toContain(`## ${s}`);
  });
});
