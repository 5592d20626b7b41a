/**
 * Start a module as a worker thread, from dist/ (JavaScript) or from the
 * TypeScript sources (tests, development), where tsx's loader must be
 * registered inside the worker first (`--import tsx` in execArgv does not
 * reach workers on Node 20).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

export function startModuleWorker(moduleUrl: string, resourceLimits?: ResourceLimits): Worker {
  const file = fileURLToPath(moduleUrl);
  if (file.endsWith('.ts')) {
    const pkgFile = createRequire(moduleUrl).resolve('tsx/package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
      exports: Record<string, { import: { default: string } }>;
    };
    const api = pathToFileURL(path.join(path.dirname(pkgFile), pkg.exports['./esm/api'].import.default)).href;
    const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`;
    return new Worker(code, { eval: true, resourceLimits });
  }
  return new Worker(file, { resourceLimits });
}
