/**
 * What `npm pack` ships: the built server, config, docs (so the README's
 * links work from the package), ops files, the addon's sources and build
 * script, the licence; never tests or benchmarks. package.json names the
 * licence the LICENSE file holds (the Apache License 2.0, in full), the
 * repository, and builds before packing (prepack). The file list comes from
 * `npm pack --dry-run --json --ignore-scripts`, so the build is not needed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/server.js';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  repository?: { type: string; url: string };
  scripts: Record<string, string>;
  files: string[];
};

let packed: string[] = [];
beforeAll(async () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      npm,
      ['pack', '--dry-run', '--json', '--ignore-scripts'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
    ),
  );
  packed = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
}, 120_000);

/** Relative link targets in a markdown file, resolved against the package root. */
function relativeLinks(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z]+:/i.test(target))
    .map((target) => path.posix.normalize(path.posix.join(path.posix.dirname(file), target)));
}

describe('the npm package', () => {
  it('ships the server, config, docs, ops files, addon sources and the licence; no tests or benchmarks', () => {
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'binding.gyp',
      'native/udp_batch.c',
      'scripts/build-native.mjs',
      'scripts/healthcheck.mjs',
      'config/meridian.yaml',
      'docs/config.md',
      'docs/operations.md',
      'docs/metrics.md',
      'docs/geo-databases.md',
      'docs/migrating.md',
      'ops/grafana/meridian.json',
      'ops/prometheus/alerts.yml',
      'ops/systemd/meridian.service',
    ]) {
      expect(packed, file).toContain(file);
    }
    expect(packed.filter((f) => /^(test|bench|geo-data|src)\//.test(f))).toEqual([]);
    expect(pkg.files).toContain('dist');
  });

  it('every relative link in the README and the docs points at a file in the package', () => {
    const docs = ['README.md', ...packed.filter((f) => /^docs\/.*\.md$/.test(f))];
    const links = docs.flatMap((d) => relativeLinks(d).map((target) => ({ from: d, target })));
    expect(links.length).toBeGreaterThan(4);
    const missing = links.filter(
      (l) => !packed.includes(l.target) && !packed.some((f) => f.startsWith(`${l.target}/`)),
    );
    expect(missing).toEqual([]);
  });

  it('LICENSE is the full Apache License 2.0, as package.json says', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(text).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
    // The canonical LICENSE-2.0.txt, byte for byte.
    expect(createHash('sha256').update(text).digest('hex')).toBe(
      'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30',
    );
  });

  it('names its repository and builds before packing', () => {
    expect(pkg.repository?.type).toBe('git');
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(pkg.scripts.build).toMatch(/^tsc -p tsconfig\.json/);
  });
});
