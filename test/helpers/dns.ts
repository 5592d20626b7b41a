/**
 * A small independent DNS client for tests: builds queries with dns-packet
 * (EDNS, ECS, NSID, odd flags), sends them over real UDP/TCP sockets to
 * 127.0.0.1 / ::1, and decodes the answers. Separate from the server's own
 * wire code on purpose.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface QueryOptions {
  name: string;
  type?: string;
  qclass?: string;
  id?: number;
  /** Header flags word (default: RD off). */
  flags?: number;
  /** Add an OPT record (default true when ecs/nsid/udpSize/ednsVersion is set). */
  edns?: boolean;
  udpSize?: number;
  ednsVersion?: number;
  dnssecOk?: boolean;
  /** ECS "addr/len" (family from the address). */
  ecs?: string;
  nsid?: boolean;
  /** COOKIE option data (RFC 7873): 8 bytes of client cookie, or client + server cookie. */
  cookie?: Buffer;
  /** Extra EDNS options {code, data}. */
  options?: Array<{ code: number; data: Buffer }>;
}

/** ECS option data for "addr/len" (RFC 7871 section 6). */
export function ecsData(subnet: string, scope = 0): Buffer {
  const [addr, lenText] = subnet.split('/');
  const source = Number(lenText);
  const v6 = addr.includes(':');
  const full = v6 ? ipv6Bytes(addr) : Buffer.from(addr.split('.').map(Number));
  const bytes = Buffer.from(full.subarray(0, Math.ceil(source / 8)));
  if (source % 8 && bytes.length) bytes[bytes.length - 1] &= 0xff << (8 - (source % 8));
  const head = Buffer.from([0, v6 ? 2 : 1, source, scope]);
  return Buffer.concat([head, bytes]);
}

export function ipv6Bytes(text: string): Buffer {
  // A dotted IPv4 tail (::ffff:6.0.0.0) is two groups.
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const addr = dotted
    ? `${dotted[1]}${((+dotted[2] << 8) | +dotted[3]).toString(16)}:${((+dotted[4] << 8) | +dotted[5]).toString(16)}`
    : text;
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

export function buildQuery(o: QueryOptions): Buffer {
  const options = [...(o.options ?? [])];
  if (o.ecs) options.push({ code: 8, data: ecsData(o.ecs) });
  if (o.nsid) options.push({ code: 3, data: Buffer.alloc(0) });
  if (o.cookie) options.push({ code: 10, data: o.cookie });
  const edns =
    o.edns ??
    (o.ecs !== undefined || o.nsid || o.udpSize !== undefined || o.ednsVersion !== undefined || options.length > 0);
  const additionals: dnsPacket.Answer[] = [];
  if (edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: o.udpSize ?? 1232,
      extendedRcode: 0,
      ednsVersion: o.ednsVersion ?? 0,
      flags: o.dnssecOk ? 0x8000 : 0,
      options,
    } as unknown as dnsPacket.Answer);
  }
  // dns-packet has no code for some types (HTTPS, SVCB, TYPEnnn): encode as A and patch the QTYPE.
  const code = QTYPE_CODES[o.type ?? ''] ?? (/^TYPE\d+$/i.test(o.type ?? '') ? Number(o.type!.slice(4)) : undefined);
  const msg = dnsPacket.encode({
    type: 'query',
    id: o.id ?? Math.floor(Math.random() * 65535),
    flags: o.flags ?? 0,
    questions: [
      {
        name: o.name,
        type: (code === undefined ? (o.type ?? 'A') : 'A') as dnsPacket.RecordType,
        class: (o.qclass ?? 'IN') as dnsPacket.RecordClass,
      },
    ],
    additionals,
  });
  if (code !== undefined) {
    let off = 12;
    while (msg[off] !== 0) off += msg[off] + 1;
    msg.writeUInt16BE(code, off + 1);
  }
  return msg;
}

/** Query types dns-packet cannot name. */
const QTYPE_CODES: Record<string, number> = { SVCB: 64, HTTPS: 65 };

export interface Reply {
  raw: Buffer;
  packet: dnsPacket.DecodedPacket;
  rcode: number;
  flags: { aa: boolean; tc: boolean; rd: boolean; qr: boolean };
  /** ECS option echoed, if any. */
  ecs: { family: number; source: number; scope: number; address: Buffer } | null;
  nsid: string | null;
  /** COOKIE option data echoed (client cookie + server cookie), if any. */
  cookie: Buffer | null;
  opt: { udpSize: number; extendedRcode: number; version: number; flags: number } | null;
}

export function decodeReply(raw: Buffer): Reply {
  const packet = dnsPacket.decode(raw);
  const flagsWord = raw.readUInt16BE(2);
  let ecs: Reply['ecs'] = null;
  let nsid: string | null = null;
  let cookie: Buffer | null = null;
  let opt: Reply['opt'] = null;
  // Parse OPT by hand from the decoded record's raw options.
  for (const a of packet.additionals ?? []) {
    if (a.type !== 'OPT') continue;
    const o = a as unknown as {
      udpPayloadSize: number;
      extendedRcode: number;
      ednsVersion: number;
      flags: number;
      options: Array<{ code: number; data: Buffer }>;
    };
    opt = { udpSize: o.udpPayloadSize, extendedRcode: o.extendedRcode, version: o.ednsVersion, flags: o.flags };
    for (const op of o.options ?? []) {
      if (op.code === 8)
        ecs = { family: op.data.readUInt16BE(0), source: op.data[2], scope: op.data[3], address: op.data.subarray(4) };
      if (op.code === 3) nsid = op.data.toString('utf8');
      if (op.code === 10) cookie = Buffer.from(op.data);
    }
  }
  const extended = opt ? opt.extendedRcode << 4 : 0;
  return {
    raw,
    packet,
    rcode: extended | (flagsWord & 0xf),
    flags: {
      qr: (flagsWord & 0x8000) !== 0,
      aa: (flagsWord & 0x0400) !== 0,
      tc: (flagsWord & 0x0200) !== 0,
      rd: (flagsWord & 0x0100) !== 0,
    },
    ecs,
    nsid,
    cookie,
    opt,
  };
}

/** Send raw bytes over UDP; resolves with the reply bytes or null after `timeoutMs`. */
export function udpRaw(port: number, msg: Buffer, host = '127.0.0.1', timeoutMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, timeoutMs);
    sock.once('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, host);
  });
}

export async function udpQuery(port: number, o: QueryOptions, host = '127.0.0.1'): Promise<Reply> {
  const raw = await udpRaw(port, buildQuery(o), host, 2000);
  if (!raw) throw new Error(`no UDP answer for ${o.name} ${o.type ?? 'A'}`);
  return decodeReply(raw);
}

/** Send several framed messages on one TCP connection (optionally in one write) and collect `expect` replies. */
export function tcpExchange(
  port: number,
  msgs: Buffer[],
  opts: { host?: string; localAddress?: string; oneWrite?: boolean; expect?: number; timeoutMs?: number } = {},
): Promise<Buffer[]> {
  const expect = opts.expect ?? msgs.length;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(replies);
    }, opts.timeoutMs ?? 3000);
    sock.on('connect', () => {
      const framed = msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]));
      if (opts.oneWrite) sock.write(Buffer.concat(framed));
      else for (const f of framed) sock.write(f);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        replies.push(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
      }
      if (replies.length >= expect) {
        clearTimeout(timer);
        sock.destroy();
        resolve(replies);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (replies.length >= expect) resolve(replies);
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(replies);
    });
  });
}

export async function tcpQuery(port: number, o: QueryOptions, host = '127.0.0.1'): Promise<Reply> {
  const [raw] = await tcpExchange(port, [buildQuery(o)], { host });
  if (!raw) throw new Error(`no TCP answer for ${o.name}`);
  return decodeReply(raw);
}

/** The address strings (A/AAAA data) of a reply's answer section. */
export function addresses(r: Reply): string[] {
  return (r.packet.answers ?? [])
    .filter((a) => a.type === 'A' || a.type === 'AAAA')
    .map((a) => String((a as { data: unknown }).data));
}

/** Poll `fn` until it returns a truthy value or the deadline passes (no fixed sleeps in tests). */
export async function until<T>(
  fn: () => Promise<T> | T,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface RawRecord {
  name: string;
  type: number;
  ttl: number;
  /** RDATA as sent, lower-case hex. */
  rdata: string;
}

/** Read a (possibly compressed) name at `off`; returns it and the offset after it in place. */
function readName(msg: Buffer, off: number): [string, number] {
  const labels: string[] = [];
  let end = -1;
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[off];
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | msg[off + 1];
      continue;
    }
    labels.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += len + 1;
  }
  return [labels.join('.'), end < 0 ? off + 1 : end];
}

/** The answer, authority and additional records of a reply with their RDATA bytes, read by hand. */
export function rawSections(msg: Buffer): { answer: RawRecord[]; authority: RawRecord[]; additional: RawRecord[] } {
  let off = 12;
  for (let i = msg.readUInt16BE(4); i > 0; i--) off = readName(msg, off)[1] + 4;
  const section = (count: number): RawRecord[] =>
    Array.from({ length: count }, () => {
      const [name, after] = readName(msg, off);
      const rdlen = msg.readUInt16BE(after + 8);
      const rr = {
        name,
        type: msg.readUInt16BE(after),
        ttl: msg.readUInt32BE(after + 4),
        rdata: msg.toString('hex', after + 10, after + 10 + rdlen),
      };
      off = after + 10 + rdlen;
      return rr;
    });
  const answer = section(msg.readUInt16BE(6));
  const authority = section(msg.readUInt16BE(8));
  return { answer, authority, additional: section(msg.readUInt16BE(10)) };
}
