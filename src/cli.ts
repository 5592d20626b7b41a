#!/usr/bin/env node
/**
 * The `meridian` executable (package.json bin: dist/cli.js). It only runs the
 * command line in cli/program.ts, so the path operators, the Dockerfile and
 * the systemd unit use stays the same whatever the layout behind it.
 */
import { main } from './cli/program.js';

main(process.argv.slice(2)).then((code) => {
  if (code !== undefined && code !== -1) process.exitCode = code;
});
