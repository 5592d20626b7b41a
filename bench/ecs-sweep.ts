/**
 * Measure any authoritative server's ECS scopes over UDP (Meridian, gdnsd, ...):
 *
 *   sweep:  cover all of IPv4 with the scopes the server returns. From 0.0.0.0,
 *           ask for the address as an ECS /32, take the returned SCOPE as a
 *           block, continue at the first address after it. The number of
 *           blocks is the number of distinct scopes (resolver cache entries)
 *           needed to cover IPv4. A block that does not start at the address
 *           asked for means the server's scopes overlap (counted as unaligned).
 *           IPv4 is cut into /12 chunks swept concurrently; blocks wider than a
 *           chunk are counted once.
 *   sample: the 10,000 random public /24s of bench/public-v4.ts as ECS /24:
 *           mean returned scope and distinct (prefix, scope) cache entries.
 *
 *   node --import tsx bench/ecs-sweep.ts --port 5301 [--mode sweep|sample] [--name cdn.geo.example]
 *        [--n 10000] [--concurrency 256] [--out blocks.tsv]
 *
 * Packets are built and parsed here (a few lines of RFC 1035/6891/7871) so a
 * sweep of a million queries is limited by the server, not by the client.
 */
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { publicSlash24s } from './public-v4.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '5301'));
const mode = arg('mode', 'sweep');
const qname = arg('name', 'cdn.geo.example');
const n = Number(arg('n', '10000'));
const concurrency = Number(arg('concurrency', '256'));
const outFile = arg('out', '');

const nameWire = Buffer.concat([
  ...qname
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
  Buffer.from([0]),
]);

/** An A query with an OPT record carrying ECS addr/source (RFC 7871 6: address truncated to ceil(source/8) bytes). */
function query(id: number, addr: number, source: number): Buffer {
  const alen = Math.ceil(source / 8);
  const b = Buffer.alloc(12 + nameWire.length + 4 + 11 + 8 + alen);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(1, 4); // QDCOUNT
  b.writeUInt16BE(1, 10); // ARCOUNT
  let o = 12;
  nameWire.copy(b, o);
  o += nameWire.length;
  b.writeUInt16BE(1, o); // A
  b.writeUInt16BE(1, o + 2); // IN
  o += 4;
  b[o] = 0; // root owner
  b.writeUInt16BE(41, o + 1); // OPT
  b.writeUInt16BE(1232, o + 3);
  b.writeUInt32BE(0, o + 5);
  b.writeUInt16BE(8 + alen, o + 9);
  o += 11;
  b.writeUInt16BE(8, o); // ECS
  b.writeUInt16BE(4 + alen, o + 2);
  b.writeUInt16BE(1, o + 4); // FAMILY IPv4
  b[o + 6] = source;
  b[o + 7] = 0;
  const masked = source === 0 ? 0 : (addr & (~0 << (32 - source))) >>> 0;
  for (let i = 0; i < alen; i++) b[o + 8 + i] = (masked >>> (24 - 8 * i)) & 0xff;
  return b;
}

function skipName(b: Buffer, o: number): number {
  while (o < b.length) {
    const len = b[o];
    if (len === 0) return o + 1;
    if ((len & 0xc0) === 0xc0) return o + 2;
    o += len + 1;
  }
  return o;
}

/** The first A record's address (or '' for none) and the ECS SCOPE (-1 without ECS). */
function parse(b: Buffer): { id: number; answer: string; scope: number; rcode: number } {
  const id = b.readUInt16BE(0);
  const rcode = b[3] & 0x0f;
  const qd = b.readUInt16BE(4);
  const counts = [b.readUInt16BE(6), b.readUInt16BE(8), b.readUInt16BE(10)];
  let o = 12;
  for (let i = 0; i < qd; i++) o = skipName(b, o) + 4;
  let answer = '';
  let scope = -1;
  for (let section = 0; section < 3; section++) {
    for (let i = 0; i < counts[section]; i++) {
      o = skipName(b, o);
      const type = b.readUInt16BE(o);
      const rdlen = b.readUInt16BE(o + 8);
      const rd = o + 10;
      if (section === 0 && type === 1 && answer === '' && rdlen === 4)
        answer = `${b[rd]}.${b[rd + 1]}.${b[rd + 2]}.${b[rd + 3]}`;
      if (section === 2 && type === 41) {
        for (let p = rd; p + 4 <= rd + rdlen; ) {
          const code = b.readUInt16BE(p);
          const len = b.readUInt16BE(p + 2);
          if (code === 8 && len >= 4) scope = b[p + 7];
          p += 4 + len;
        }
      }
      o = rd + rdlen;
    }
  }
  return { id, answer, scope, rcode };
}

/** Sends queries with up to `concurrency` in flight, retrying after 500 ms. */
class Client {
  private readonly socket = dgram.createSocket('udp4');
  private readonly pending = new Map<
    number,
    { packet: Buffer; resolve: (r: ReturnType<typeof parse>) => void; timer: NodeJS.Timeout; tries: number }
  >();
  private nextId = 0;
  retries = 0;

  constructor() {
    this.socket.on('message', (msg) => {
      const r = parse(msg);
      const p = this.pending.get(r.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(r.id);
      p.resolve(r);
    });
  }

  ask(addr: number, source: number): Promise<ReturnType<typeof parse>> {
    let id = this.nextId;
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    this.nextId = (id + 1) & 0xffff;
    const packet = query(id, addr, source);
    return new Promise((resolve, reject) => {
      const entry = { packet, resolve, tries: 0, timer: undefined as unknown as NodeJS.Timeout };
      const send = () => {
        if (entry.tries++ === 5) {
          this.pending.delete(id);
          reject(
            new Error(
              `no answer for ${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${source}`,
            ),
          );
          return;
        }
        if (entry.tries > 1) this.retries++;
        this.socket.send(packet, port, host);
        entry.timer = setTimeout(send, 500);
      };
      this.pending.set(id, entry);
      send();
    });
  }

  close(): void {
    this.socket.close();
  }
}

const ipText = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;

async function sweep(client: Client): Promise<void> {
  const CHUNK_BITS = 12;
  const chunkSize = 2 ** (32 - CHUNK_BITS);
  const blocks = new Map<string, string>();
  const byLength = new Array<number>(33).fill(0);
  let unaligned = 0;
  let queries = 0;
  let nextChunk = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (nextChunk < 2 ** CHUNK_BITS) {
      const lo = nextChunk++ * chunkSize;
      const hi = lo + chunkSize;
      for (let a = lo; a < hi; ) {
        const r = await client.ask(a >>> 0, 32);
        queries++;
        const s = r.scope < 0 ? 32 : r.scope;
        const size = 2 ** (32 - s);
        const base = Math.floor(a / size) * size;
        if (base !== a && base >= lo) unaligned++;
        const key = `${base}/${s}`;
        if (!blocks.has(key)) {
          blocks.set(key, r.answer);
          byLength[s]++;
        }
        a = Math.max(base + size, a + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - t0) / 1000;
  console.log(`sweep of IPv4 on ${host}:${port} (${qname} A, ECS /32): ${blocks.size} distinct scopes cover IPv4`);
  console.log(
    `${queries} queries in ${secs.toFixed(1)} s (${client.retries} retries); scopes not starting at the address asked for: ${unaligned}`,
  );
  console.log(
    `scope lengths: ${byLength
      .map((c, l) => (c ? `/${l} ${c}` : ''))
      .filter(Boolean)
      .join(', ')}`,
  );
  if (outFile) {
    const lines = [...blocks].map(([k, answer]) => {
      const [base, len] = k.split('/');
      return `${ipText(Number(base))}/${len}\t${answer}`;
    });
    writeFileSync(outFile, `${lines.join('\n')}\n`);
    console.log(`blocks written to ${outFile}`);
  }
}

async function sample(client: Client): Promise<void> {
  const nets = publicSlash24s(n);
  const entries = new Set<string>();
  const byLength = new Array<number>(33).fill(0);
  let sum = 0;
  let i = 0;
  const worker = async () => {
    while (i < nets.length) {
      const [a, b, c] = nets[i++];
      const addr = ((a << 24) | (b << 16) | (c << 8)) >>> 0;
      const r = await client.ask(addr, 24);
      const s = Math.max(0, r.scope);
      sum += s;
      byLength[s]++;
      entries.add(`${s === 0 ? 0 : (addr & (~0 << (32 - s))) >>> 0}/${s}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, 64) }, worker));
  console.log(
    `${n} random public IPv4 /24s on ${host}:${port} (${qname} A, ECS /24): mean returned scope /${(sum / n).toFixed(2)}, ${entries.size} distinct cache entries`,
  );
  console.log(
    `scope lengths: ${byLength
      .map((c, l) => (c ? `/${l} ${((100 * c) / n).toFixed(1)}%` : ''))
      .filter(Boolean)
      .join(', ')}`,
  );
}

const client = new Client();
try {
  if (mode === 'sweep') await sweep(client);
  else if (mode === 'sample') await sample(client);
  else throw new Error(`unknown --mode ${mode} (sweep or sample)`);
} finally {
  client.close();
}
