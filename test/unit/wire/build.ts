/**
 * Hand-made DNS messages for the wire tests (and the fuzzer): every byte is
 * written here, independently of the server's encoder and of dns-packet, so
 * that malformed inputs (bad counts, truncated records, pointers where they do
 * not belong) can be expressed exactly.
 */

export interface EdnsOpt {
  code: number;
  data: Buffer;
}

export interface RawOpt {
  /** Owner name bytes (default: the root, one zero byte). */
  owner?: Buffer;
  udpSize?: number;
  extRcode?: number;
  version?: number;
  /** The 16-bit EDNS flags (DO = 0x8000). */
  flags?: number;
  options?: EdnsOpt[];
  /** Override RDLENGTH (default: the real length of the options). */
  rdlen?: number;
}

/** Wire form of a dotted name ('' or '.' = root). Labels are taken verbatim (case kept). */
export function wireName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const b = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A name made of labels of the given lengths (filled with 'a'), root-terminated. */
export function nameOfLabelLengths(lengths: number[]): Buffer {
  return Buffer.concat([
    ...lengths.map((l) => Buffer.concat([Buffer.from([l]), Buffer.alloc(l, 0x61)])),
    Buffer.from([0]),
  ]);
}

export function header(o: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(o.id ?? 0x1234, 0);
  b.writeUInt16BE(o.flags ?? 0, 2);
  b.writeUInt16BE(o.qd ?? 1, 4);
  b.writeUInt16BE(o.an ?? 0, 6);
  b.writeUInt16BE(o.ns ?? 0, 8);
  b.writeUInt16BE(o.ar ?? 0, 10);
  return b;
}

export function questionBytes(name: string | Buffer, type = 1, qclass = 1): Buffer {
  const n = typeof name === 'string' ? wireName(name) : name;
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(qclass, 2);
  return Buffer.concat([n, tail]);
}

export function optionBytes(options: EdnsOpt[]): Buffer {
  return Buffer.concat(
    options.map((o) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(o.code, 0);
      h.writeUInt16BE(o.data.length, 2);
      return Buffer.concat([h, o.data]);
    }),
  );
}

/** An OPT pseudo-RR (RFC 6891 6.1.2). */
export function optRR(o: RawOpt = {}): Buffer {
  const owner = o.owner ?? Buffer.from([0]);
  const rdata = optionBytes(o.options ?? []);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(41, 0);
  fixed.writeUInt16BE(o.udpSize ?? 1232, 2);
  fixed[4] = o.extRcode ?? 0;
  fixed[5] = o.version ?? 0;
  fixed.writeUInt16BE(o.flags ?? 0, 6);
  fixed.writeUInt16BE(o.rdlen ?? rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

/** A plain RR with uncompressed owner. */
export function rr(owner: string | Buffer, type: number, rdata: Buffer, ttl = 300, qclass = 1): Buffer {
  const n = typeof owner === 'string' ? wireName(owner) : owner;
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(qclass, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([n, fixed, rdata]);
}

/** ECS option (code 8) from raw fields, so that every malformed variant can be written. */
export function ecsOption(family: number, source: number, scope: number, address: number[]): EdnsOpt {
  const data = Buffer.alloc(4 + address.length);
  data.writeUInt16BE(family, 0);
  data[2] = source;
  data[3] = scope;
  Buffer.from(address).copy(data, 4);
  return { code: 8, data };
}

export interface RawQuery {
  id?: number;
  flags?: number;
  qd?: number;
  an?: number;
  ns?: number;
  /** Default: the number of additional records written (OPT included). */
  ar?: number;
  /** The question section bytes; default www.example.net A IN. */
  question?: Buffer;
  answers?: Buffer[];
  authorities?: Buffer[];
  /** Records written before the OPT record. */
  additionals?: Buffer[];
  opt?: RawOpt | null;
  /** Raw bytes appended at the very end. */
  trailer?: Buffer;
}

export function rawQuery(o: RawQuery = {}): Buffer {
  const adds = [...(o.additionals ?? []), ...(o.opt ? [optRR(o.opt)] : [])];
  return Buffer.concat([
    header({
      id: o.id,
      flags: o.flags,
      qd: o.qd,
      an: o.an ?? o.answers?.length ?? 0,
      ns: o.ns ?? o.authorities?.length ?? 0,
      ar: o.ar ?? adds.length,
    }),
    o.question ?? questionBytes('www.example.net'),
    ...(o.answers ?? []),
    ...(o.authorities ?? []),
    ...adds,
    o.trailer ?? Buffer.alloc(0),
  ]);
}

/** Header fields of a raw message. */
export function headerOf(raw: Uint8Array): {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
  qd: number;
  an: number;
  ns: number;
  ar: number;
} {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const f = b.readUInt16BE(2);
  return {
    id: b.readUInt16BE(0),
    qr: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0xf,
    aa: (f & 0x0400) !== 0,
    tc: (f & 0x0200) !== 0,
    rd: (f & 0x0100) !== 0,
    ra: (f & 0x0080) !== 0,
    z: (f & 0x0040) !== 0,
    ad: (f & 0x0020) !== 0,
    cd: (f & 0x0010) !== 0,
    rcode: f & 0xf,
    qd: b.readUInt16BE(4),
    an: b.readUInt16BE(6),
    ns: b.readUInt16BE(8),
    ar: b.readUInt16BE(10),
  };
}

/** Header flag bits. */
export const QR = 0x8000;
export const AA = 0x0400;
export const TC = 0x0200;
export const RD = 0x0100;
export const AD = 0x0020;
export const CD = 0x0010;
export const opcodeBits = (op: number): number => (op & 0xf) << 11;
