/**
 * The package root (where package.json, config/ and build/Release/ are),
 * computed once from this file's place: src/util/ when run with tsx,
 * dist/util/ when built; both are two levels below the root.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
