#!/usr/bin/env node
// Build the optional batched-UDP addon (native/udp_batch.c) with node-gyp.
// Never fails the install: without a compiler, or off Linux, Meridian uses
// node:dgram and says so at start-up. Runs from `npm ci` (install) and `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (m) => quiet || process.stderr.write(`build-native: ${m}\n`);

if (process.platform !== 'linux') {
  say('not Linux: skipping the batched UDP addon (node:dgram will be used)');
  process.exit(0);
}
// npm tells lifecycle scripts where its own node-gyp is; a local devDependency works too.
const candidates = [process.env.npm_config_node_gyp, path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].filter(Boolean);
const gyp = candidates.find((c) => existsSync(c));
if (!gyp) {
  say('node-gyp not found: skipping the batched UDP addon (node:dgram will be used)');
  process.exit(0);
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--loglevel=warn'], { cwd: root, stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'] });
if (r.status === 0 && existsSync(path.join(root, 'build', 'Release', 'udp_batch.node'))) say('built build/Release/udp_batch.node');
else say('could not build the batched UDP addon (a C compiler, make and python3 are needed); node:dgram will be used');
process.exit(0);
