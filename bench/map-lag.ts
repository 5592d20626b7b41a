/**
 * Does the admin API delay DNS answers? A real `meridian serve --workers 0`
 * (built dist/, default config, full DB-IP database) answers a steady UDP
 * stream while an admin client loops over /map renders that cannot be served
 * from cache (each round drains and undrains a PoP, so the health epoch
 * changes) and /explain calls. The script prints DNS round-trip percentiles
 * with and without the admin loop.
 *
 *   npm run build && node --import tsx bench/map-lag.ts [--seconds 20]
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildQuery } from '../test/helpers/dns.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' } } });
const seconds = Number(values.seconds);
// MAPLAG_ROOT: another checkout's built server, to compare (its dist/ and node_modules/ are used).
const ROOT = process.env.MAPLAG_ROOT ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const TOKEN = 'map-lag-bench-token-0123456789';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-maplag-'));
const config = path.join(dir, 'meridian.yaml');
writeFileSync(
  config,
  readFileSync(path.join(ROOT, 'config', 'meridian.yaml'), 'utf8')
    .replace(/package:(@ip-location-db\/[^\s]+)/g, (_m, p: string) => path.join(ROOT, 'node_modules', p))
    .replace('token_env: MERIDIAN_ADMIN_TOKEN', `token: ${TOKEN}`),
);
const port = await freePort();
const admin = await freePort();
const child = spawn(
  process.execPath,
  [
    ...(process.env.MAPLAG_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    path.join(ROOT, 'dist', 'cli.js'),
    'serve',
    '--config',
    config,
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    `127.0.0.1:${admin}`,
    '--workers',
    '0',
    '--log-level',
    'warn',
  ],
  { stdio: 'inherit' },
);
const base = `http://127.0.0.1:${admin}`;
for (let t0 = Date.now(); ; await sleep(200)) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    if (Date.now() - t0 > 120_000) throw new Error('server did not start');
  }
}

/** Send `qps` queries a second for `ms`, return round-trip times in ms. */
async function measure(ms: number, qps = 500): Promise<{ rtts: number[]; sent: number }> {
  const sock = dgram.createSocket('udp4');
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  sock.on('message', (m) => {
    const id = m.readUInt16BE(0);
    const t = sentAt.get(id);
    if (t !== undefined) rtts.push(performance.now() - t);
  });
  let id = 0;
  let sent = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < qps / 100; i++) {
      id = (id + 1) & 0xffff;
      sentAt.set(id, performance.now());
      sent++;
      sock.send(
        buildQuery({ name: 'cdn.example.net', id, ecs: `${1 + (id % 200)}.${id & 255}.0.0/24` }),
        port,
        '127.0.0.1',
      );
    }
  }, 10);
  await sleep(ms);
  clearInterval(timer);
  await sleep(300);
  sock.close();
  return { rtts, sent };
}

const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const line = (label: string, { rtts: xs, sent }: { rtts: number[]; sent: number }) =>
  `${label.padEnd(34)} answered ${xs.length}/${sent}  p50 ${pct(xs, 0.5).toFixed(2)} ms  p99 ${pct(xs, 0.99).toFixed(2)} ms  max ${Math.max(...xs).toFixed(1)} ms`;

await fetch(`${base}/map`); // first render (databases read) before measuring
const quiet = await measure(seconds * 1000);
console.log(line('DNS alone', quiet));

let stop = false;
let renders = 0;
const loop = (async () => {
  for (let i = 0; !stop; i++) {
    await fetch(`${base}/admin/pops/syd/${i % 2 ? 'undrain' : 'drain'}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const r = await fetch(`${base}/map?name=${i % 3 ? 'cdn.example.net' : 'example.net'}`);
    await r.text();
    await (await fetch(`${base}/explain?name=cdn.example.net&client=${1 + (i % 200)}.2.3.0/24`)).text();
    renders++;
  }
})();
const busy = await measure(seconds * 1000);
stop = true;
await loop;
console.log(line(`DNS during ${renders} uncached /map renders`, busy));
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
rmSync(dir, { recursive: true, force: true });
