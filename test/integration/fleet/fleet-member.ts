/**
 * A fleet member in its own process, for the test that kills one without a
 * goodbye (SIGKILL): argv[2] is the fleet config as JSON, argv[3] the instance
 * name, argv[4] the PoPs (comma-separated). It reports every PoP of its share
 * up every 200 ms, as a health monitor would, and prints "ready" once in sync.
 */
import { fleetSchema } from '../../../src/plane/fleet/config.js';
import { FleetLink } from '../../../src/plane/fleet/link.js';

const config = fleetSchema.parse(JSON.parse(process.argv[2]));
const link = FleetLink.start({
  config,
  instance: process.argv[3],
  baseDir: process.cwd(),
  pops: process.argv[4].split(','),
});
link.onConnection((c) => {
  if (c.connected) process.stdout.write('ready\n');
});
setInterval(() => {
  for (const pop of link.view().probes) link.observe(pop, { up: true, reason: null, rttMs: 1, interval: 0.2 });
}, 200);
