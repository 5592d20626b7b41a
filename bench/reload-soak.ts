/**
 * Reload soak: a real `meridian serve` process (built dist/, default config
 * with the full DB-IP Lite City database) under a steady UDP query load is
 * made to recompile its policy 20 times (the fallback order alternates, so
 * every reload is a full compile, and the change guard lets it through: only
 * clients the database cannot place move). After each reload the script
 * waits for the new answer, lets the process settle, and records the RSS of
 * the serving process(es) from /proc/PID/status, plus queries sent/answered.
 *
 *   npm run build && node --import tsx bench/reload-soak.ts [--workers N] [--steps 20] [--qps 2000]
 *
 * Not a test: it prints a table for bench/README.md.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { buildQuery } from '../test/helpers/dns.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '0' },
    steps: { type: 'string', default: '20' },
    qps: { type: 'string', default: '2000' },
  },
});
const workers = Number(values.workers);
const steps = Number(values.steps);
const qps = Number(values.qps);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** VmRSS in MB of `pid` and of its child processes (cluster workers; the compile child while it runs). */
function rssOf(pid: number): { self: number; children: number[] } {
  const read = (p: number) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  const kids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(read(Number(d)));
    } catch {
      /* gone */
    }
  }
  return { self: read(pid), children: kids };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-soak-'));
const config = path.join(dir, 'meridian.yaml');
const base = readFileSync(path.join(ROOT, 'config', 'meridian.yaml'), 'utf8').replace(
  /package:(@ip-location-db\/[^\s]+)/g,
  (_m, p: string) => path.join(ROOT, 'node_modules', p),
);
writeFileSync(config, base);
const port = await freePort();
const admin = await freePort();
const child = spawn(
  process.execPath,
  [
    path.join(ROOT, 'dist', 'cli.js'),
    'serve',
    '--config',
    config,
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    `127.0.0.1:${admin}`,
    '--workers',
    String(workers),
    '--log-level',
    'warn',
  ],
  {
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);
const metrics = async () => (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Steady load: `qps` queries a second for cdn.example.net with ECS from 20,000 /24s.
const sock = dgram.createSocket('udp4');
let sent = 0;
let answered = 0;
let lastFirst = '';
sock.on('message', (msg) => {
  answered++;
  if (msg.readUInt16BE(0) === 0) {
    const a = dnsPacket.decode(msg).answers?.[0] as { data?: string } | undefined;
    lastFirst = a?.data ?? '';
  }
});
const queries = Array.from({ length: 20000 }, (_, i) =>
  buildQuery({
    name: 'cdn.example.net',
    id: 1 + (i % 65000),
    ecs: `${1 + ((i * 7919) % 223)}.${(i * 31) % 256}.${i % 256}.0/24`,
  }),
);
const probe = buildQuery({ name: 'cdn.example.net', id: 0, ecs: '240.0.0.0/24' }); // reserved: no database entry, answered by the fallback
let qi = 0;
let ready = false;
const tick = setInterval(() => {
  if (!ready) return;
  for (let i = 0; i < qps / 100; i++) {
    sock.send(queries[qi++ % queries.length], port, '127.0.0.1');
    sent++;
  }
  sock.send(probe, port, '127.0.0.1');
  sent++;
}, 10);

const deadline = Date.now() + 120_000;
for (;;) {
  try {
    if (/meridian_workers \d/.test(await metrics())) break;
  } catch {
    /* not up yet */
  }
  if (Date.now() > deadline) throw new Error('server did not start');
  await sleep(200);
}
ready = true;
await sleep(3000);
const fallbacks = ['fallback: [fra, iad, sin]', 'fallback: [iad, fra, sin]'];
const firstOf = ['192.0.2.1', '192.0.2.3'];
const rows: string[] = [];
const row = (step: number, ms: number) => {
  const r = rssOf(child.pid!);
  const kids = r.children.length ? ` | ${r.children.map((x) => x.toFixed(0)).join(' + ')}` : '';
  rows.push(`| ${step} | ${ms} | ${r.self.toFixed(0)}${kids} | ${sent} | ${answered} |`);
  console.log(rows[rows.length - 1]);
  return r.self;
};
console.log(`| reload | compile+swap ms | RSS MB (primary${workers ? ' | workers' : ''}) | queries sent | answered |`);
console.log('|---:|---:|---:|---:|---:|');
row(0, 0);
const rss: number[] = [];
for (let step = 1; step <= steps; step++) {
  const before = metric(await metrics(), /meridian_config_reloads_total\{result="success"\} (\d+)/);
  const t0 = performance.now();
  const tmp = `${config}.tmp`;
  writeFileSync(tmp, base.replace(fallbacks[0], fallbacks[step % 2]));
  renameSync(tmp, config);
  for (;;) {
    const m = await metrics();
    if (metric(m, /meridian_config_reloads_total\{result="success"\} (\d+)/) > before) break;
    if (metric(m, /meridian_config_reloads_total\{result="failure"\} (\d+)/) > 0) throw new Error('a reload failed');
    await sleep(100);
  }
  const ms = Math.round(performance.now() - t0);
  while (lastFirst !== firstOf[step % 2]) await sleep(20);
  await sleep(2000);
  rss.push(row(step, ms));
}
clearInterval(tick);
await sleep(1000);
const lost = sent - answered;
console.log(`\nqueries: ${sent} sent, ${answered} answered, ${lost} lost`);
console.log(
  `RSS after reload 1: ${rss[0].toFixed(0)} MB; after reload ${steps}: ${rss[rss.length - 1].toFixed(0)} MB (${(((rss[rss.length - 1] - rss[0]) / rss[0]) * 100).toFixed(1)} %); max ${Math.max(...rss).toFixed(0)} MB`,
);
sock.close();
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
rmSync(dir, { recursive: true, force: true });
void copyFileSync;
