/**
 * Meridian's own version, read once from package.json (src/ and dist/ are
 * both one level below the package root, so the same relative path works
 * under tsx and from the build).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from './package-root.js';

let cached: string | undefined;

export function meridianVersion(): string {
  if (cached === undefined) {
    const file = path.join(PACKAGE_ROOT, 'package.json');
    cached = String((JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  }
  return cached;
}
