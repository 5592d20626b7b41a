/**
 * The flood benchmark of issue 13, with dnsperf on loopback (`-a` binds the
 * source address, so each stream is its own /24 of 127.0.0.0/8):
 *
 *   1. Amplification: an "attack" stream from 127.0.40.1 at the highest rate
 *      dnsperf reaches, for names with large answers, beside a "legitimate"
 *      stream from 127.0.41.1 at a fixed rate, once with RRL off and once on
 *      (the defaults, `exempt: []` since loopback is exempt by default).
 *      Reported: bytes sent back to the attack source per byte received from
 *      it (dnsperf's completed x average response size over sent x average
 *      request size), and the share of legitimate queries answered.
 *   2. CPU per query of normal traffic, RRL on but never triggered (a limit
 *      far above the rate; every response still goes through the limiter)
 *      against RRL off: the server's CPU time (process.cpuUsage, the server
 *      runs in this process) over queries answered, runs alternated.
 *
 *   node --import tsx bench/flood.ts [--seconds 10] [--legit-qps 1000] [--cpu-qps 20000] [--rounds 3]
 *
 * Run it on a quiet machine: the attack stream and the server share its
 * cores, which is the point (a flood that takes the CPU from legitimate
 * clients shows as lost legitimate queries). The load average is printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STATIC_ZONE, testConfig } from '../test/helpers/configs.js';
import { startServer, type TestServer } from '../test/helpers/server.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const SECONDS = arg('seconds', 10);
const LEGIT_QPS = arg('legit-qps', 1000);
const CPU_QPS = arg('cpu-qps', 20000);
const ROUNDS = arg('rounds', 3);
const ATTACK_SOURCE = '127.0.40.1';
const LEGIT_SOURCE = '127.0.41.1';

/** What dnsperf printed at the end of a run. */
interface PerfResult {
  sent: number;
  completed: number;
  requestBytes: number;
  responseBytes: number;
  qps: number;
}

function parsePerf(text: string): PerfResult {
  const num = (re: RegExp) => {
    const m = re.exec(text);
    if (!m) throw new Error(`dnsperf output without ${re}:\n${text}`);
    return Number(m[1]);
  };
  const sizes = /Average packet size:\s+request (\d+), response (\d+)/.exec(text);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    requestBytes: sizes ? Number(sizes[1]) : 0,
    responseBytes: sizes ? Number(sizes[2]) : 0,
    qps: num(/Queries per second:\s+([\d.]+)/),
  };
}

function dnsperf(port: number, source: string, file: string, extra: string[]): Promise<PerfResult> {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-a', source, '-d', file, '-l', String(SECONDS), '-t', '1'];
  return new Promise((resolve, reject) => {
    const child = spawn('dnsperf', [...args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(parsePerf(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'meridian-flood-'));
const file = (name: string, lines: string[]) => {
  const p = path.join(dir, name);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
};
/**
 * The benchmark zone: a TXT set of about 1,000 bytes (what a reflection attack
 * asks for: the largest answer that fits the EDNS size, 1232) and 50 hosts
 * for the legitimate stream, so that at LEGIT_QPS each (network, name) bucket
 * sees a rate a resolver could send (20/s at 1,000 q/s), under the limit.
 */
const HOSTS = 50;
const BENCH_ZONE = `
  - origin: example.org.
    soa: { mname: ns1, rname: hostmaster@example.org, serial: 1, minimum: 300 }
    ns: [ns1]
    records:
      ns1: { A: [198.51.100.54] }
      amp: { TXT: ${JSON.stringify(Array.from({ length: 4 }, (_, i) => `${i}-${'a'.repeat(240)}`))} }
${Array.from({ length: HOSTS }, (_, i) => `      h${i}: { A: [198.51.100.${i + 1}] }`).join('\n')}
`;
const attackFile = file('attack.txt', ['amp.example.org TXT']);
const legitFile = file(
  'legit.txt',
  Array.from({ length: HOSTS }, (_, i) => `h${i}.example.org A`),
);

async function withServer<T>(rrl: string, body: (t: TestServer) => Promise<T>): Promise<T> {
  const config = testConfig({ zones: `${STATIC_ZONE}${BENCH_ZONE}`, extra: `rrl: { ${rrl} }\n` });
  const t = await startServer(config, { admin: null });
  try {
    return await body(t);
  } finally {
    await t.close();
  }
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function amplification(label: string, rrl: string): Promise<void> {
  const [attack, legit] = await withServer(rrl, (t) =>
    Promise.all([
      dnsperf(t.port, ATTACK_SOURCE, attackFile, ['-e', '-c', '8', '-q', '40000']),
      dnsperf(t.port, LEGIT_SOURCE, legitFile, ['-Q', String(LEGIT_QPS)]),
    ]),
  );
  const bytesOut = attack.completed * attack.responseBytes;
  const bytesIn = attack.sent * attack.requestBytes;
  console.log(
    `${label}: attack ${Math.round(attack.sent / SECONDS)} q/s sent, ${attack.completed} of ${attack.sent} answered, ` +
      `amplification ${(bytesOut / bytesIn).toFixed(2)} (${attack.responseBytes} B per answer, ${attack.requestBytes} B per query); ` +
      `legitimate ${((100 * legit.completed) / legit.sent).toFixed(2)} % of ${legit.sent} answered; load ${load()}`,
  );
}

/** Server CPU microseconds per answered query for one run at CPU_QPS. */
async function cpuPerQuery(rrl: string): Promise<number> {
  return withServer(rrl, async (t) => {
    const before = process.cpuUsage();
    const r = await dnsperf(t.port, LEGIT_SOURCE, legitFile, ['-Q', String(CPU_QPS)]);
    const used = process.cpuUsage(before);
    if (r.completed < r.sent * 0.99) console.log(`  (only ${r.completed} of ${r.sent} answered: lower --cpu-qps)`);
    return (used.user + used.system) / r.completed;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`flood benchmark: ${SECONDS} s per run, load ${load()}, ${os.cpus().length} CPUs`);
console.log('\n1. Amplification (attack at full speed from one /24, legitimate stream from another)');
await amplification('RRL off', 'enabled: false');
await amplification('RRL on (defaults: 200/s, slip 2, window 15)', 'exempt: []');

console.log(
  `\n2. CPU per query of normal traffic at ${CPU_QPS} q/s, RRL on but not triggered vs off (${ROUNDS} rounds, alternated)`,
);
const off: number[] = [];
const on: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  off.push(await cpuPerQuery('enabled: false'));
  on.push(await cpuPerQuery('responses_per_second: 1000000, exempt: []'));
  console.log(`  round ${i + 1}: off ${off[i].toFixed(2)} µs, on ${on[i].toFixed(2)} µs per query; load ${load()}`);
}
const mOff = median(off);
const mOn = median(on);
console.log(
  `median: off ${mOff.toFixed(2)} µs, on ${mOn.toFixed(2)} µs per query: ${(((mOn - mOff) / mOff) * 100).toFixed(1)} % difference (on - off)`,
);
rmSync(dir, { recursive: true, force: true });
