#!/usr/bin/env node
// Build the optional batched-UDP addon (native/udp_batch.c) with node-gyp.
// Never fails the install: without a compiler, or off Linux, Meridian uses
// node:dgram and says so at start-up. Runs from `npm ci` (install), `npm run
// build` (--quiet) and the Dockerfile (verbose, so the image build log shows
// why the addon was not built).
//
// When it cannot build, it says why in one line: node-gyp's own error (no
// Python, no make, no compiler, a compile error), not a generic message.
// --quiet prints only that line; without it node-gyp's output follows.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (m) => process.stderr.write(`build-native: ${m}\n`);
const addon = path.join(root, 'build', 'Release', 'udp_batch.node');

if (process.platform !== 'linux') {
  if (!quiet) say('not Linux: skipping the batched UDP addon (node:dgram will be used)');
  process.exit(0);
}
// npm tells lifecycle scripts where its own node-gyp is; a local devDependency works too.
const candidates = [
  process.env.npm_config_node_gyp,
  path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const gyp = candidates.find((c) => existsSync(c));
if (!gyp) {
  say('node-gyp not found: skipping the batched UDP addon (node:dgram will be used)');
  process.exit(0);
}

// Build against the headers installed with this Node.js (official tarballs and
// images, Debian's nodejs-dev) instead of downloading them: builds work offline.
const args = [gyp, 'rebuild', '--loglevel=warn'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi')))
  args.push(`--nodedir=${prefix}`);

const r = spawnSync(process.execPath, args, {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
  maxBuffer: 16 * 1024 * 1024,
});
if (r.status === 0 && existsSync(addon)) {
  if (!quiet) say('built build/Release/udp_batch.node (batched UDP: recvmmsg/sendmmsg)');
  process.exit(0);
}
const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
say(`could not build the batched UDP addon: ${reason(output)}; node:dgram will be used`);
if (!quiet) {
  const tail = output.trimEnd().split('\n').slice(-40);
  process.stderr.write(`build-native: node-gyp said:\n${tail.map((l) => `  ${l}`).join('\n')}\n`);
}
process.exit(0);

/** The line of node-gyp's output that says what went wrong, most specific first. */
function reason(text) {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const pick = (re) => lines.find((l) => re.test(l));
  const line =
    // a compiler diagnostic: "native/udp_batch.c:12:10: fatal error: node_api.h: No such file or directory"
    pick(/\b(fatal )?error: /) ??
    // a tool that is missing: "/bin/sh: 1: cc: not found", "make: g++: No such file or directory"
    pick(/: (\S+: )?(command )?not found$|No such file or directory$/) ??
    // node-gyp's own error: "gyp ERR! stack Error: Could not find any Python installation to use"
    pick(/^gyp ERR! stack Error: /)?.replace(/^gyp ERR! stack Error: /, '') ??
    pick(/^gyp ERR! /)?.replace(/^gyp ERR! /, '') ??
    pick(/Error/) ??
    lines[lines.length - 1];
  return line ?? 'node-gyp failed without output';
}
