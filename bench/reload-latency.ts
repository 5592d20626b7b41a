/**
 * Time from a config edit to the new answer, on the default config (full
 * DB-IP database): (a) a zone edit, where the compiled policy is reused,
 * (b) a policy edit, which recompiles. Polls over UDP every 10 ms.
 *   node --import tsx bench/reload-latency.ts
 */
import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MeridianServer } from '../src/plane/server.js';
import { addresses, udpQuery } from '../test/helpers/dns.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-reload-'));
const file = path.join(dir, 'meridian.yaml');
copyFileSync('config/meridian.yaml', file);
const server = await MeridianServer.start({ configFile: file, listen: ['127.0.0.1:0'], admin: null });
const port = server.addresses[0].port;
const edit = (from: string, to: string) => {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, readFileSync(file, 'utf8').replace(from, to));
  renameSync(tmp, file);
};
async function timeUntil(check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
  return Math.round(performance.now() - t0);
}
edit('198.51.100.10', '198.51.100.11');
const zoneMs = await timeUntil(
  async () => addresses(await udpQuery(port, { name: 'www.example.net' }))[0] === '198.51.100.11',
);
console.log(`zone edit (www A) -> new answer: ${zoneMs} ms (compiled policy reused; includes the 200 ms debounce)`);
edit('fallback: [fra, iad, sin]', 'fallback: [iad, fra, sin]');
const policyMs = await timeUntil(
  async () => addresses(await udpQuery(port, { name: 'cdn.example.net' }))[0] === '192.0.2.3',
);
console.log(`policy edit (fallback order) -> new answer: ${policyMs} ms (full DB-IP recompile in a worker thread)`);
await server.close(100);
