/**
 * The effective client subnet: which network a geo answer is tailored to,
 * and the SCOPE base the answer echoes. The one place this rule lives; the
 * query path, explain and simulate all call it.
 *
 *   - An ECS option with SOURCE PREFIX-LENGTH > 0: its ADDRESS, SOURCE bits
 *     (RFC 7871 7.1.1); the answer echoes SCOPE = scopeBase + leaf depth.
 *   - No ECS option, or SOURCE PREFIX-LENGTH 0 (the client opted out, RFC
 *     7871 7.1.2): the packet's source address, full length; SCOPE 0.
 *   - An IPv4-mapped IPv6 address (::ffff:0:0/96, RFC 4291 2.5.5.2) is the
 *     IPv4 client inside it: ::ffff:a.b.c.d/n (n >= 96) is looked up as
 *     a.b.c.d/(n-96), and its SCOPE is 96 + the IPv4 depth.
 *   - A source address that cannot be read (a TCP socket whose
 *     remoteAddress is undefined) is 0.0.0.0: a client no database places,
 *     answered by the policy's default, never by a previous query's client.
 *
 * Per query nothing is allocated: the result is written into a reused
 * ClientSubnet that points at bytes of the packet or of the SourceAddress.
 */
import { isV4MappedAt, parseSocketAddress, type Prefix } from '../net/ip.js';

/** The ECS fields of a decoded query (wire/query.ts ParsedQuery has them). */
export interface EcsFields {
  hasEcs: boolean;
  /** FAMILY: 1 IPv4, 2 IPv6. */
  ecsFamily: number;
  ecsSource: number;
  /** Offset of the option data (FAMILY) in the packet, and its length. */
  ecsOffset: number;
  ecsLength: number;
}

/** Bits of ::ffff:0:0/96 in front of an IPv4 address. */
export const V4_MAPPED_BITS = 96;

/** The address the packet came from, as the transport reports it: text (dgram, net) or bytes (batched UDP). */
export class SourceAddress {
  /** 4 or 6 once known; 0 while `text` is not parsed yet, or when it cannot be. */
  family = 0;
  bytes: Uint8Array;
  offset = 0;
  private readonly own = new Uint8Array(16);
  private text: string | null = null;

  constructor() {
    this.bytes = this.own;
  }

  /** A socket address string; parsed only when a query needs it (geo answers without ECS). */
  setText(text: string): void {
    this.text = text;
    this.family = 0;
    this.bytes = this.own;
    this.offset = 0;
  }

  /** Raw address bytes (family 4 or 6 at `bytes[offset]`; anything else reads as unknown), borrowed until the next set. */
  setBytes(family: number, bytes: Uint8Array, offset: number): void {
    this.text = null;
    this.family = family;
    this.bytes = bytes;
    this.offset = offset;
  }

  /** Parse pending text; afterwards `family` is 4, 6, or 0 for an address that cannot be read. */
  resolve(): void {
    if (this.text === null) return;
    this.family = parseSocketAddress(this.text, this.own);
    this.text = null;
  }
}

/** Where the lookup reads the client's network. Reused per query. */
export class ClientSubnet {
  family: 4 | 6 = 4;
  bytes: Uint8Array = UNKNOWN;
  offset = 0;
  /** Bytes of the address present (a truncated ECS address reads as zero past them). */
  byteLength = 4;
  /** Prefix length the client gave (ECS SOURCE, less 96 when mapped), or the full length for a source address. */
  bits = 32;
  /** Added to the leaf depth to make the SCOPE echoed: 96 for an IPv4-mapped option, else 0. */
  scopeBase = 0;
  /** True when the network came from an ECS option with SOURCE > 0: only then is SCOPE non-zero. */
  fromOption = false;
}

const UNKNOWN = new Uint8Array(4);

/**
 * Apply the rule: an option network (`hasOption`, `family` 4/6, `sourceBits`,
 * `byteLength` address bytes at `bytes[offset]`) or, without one or with
 * SOURCE 0, the source address. Writes `out`.
 */
export function chooseSubnet(
  out: ClientSubnet,
  hasOption: boolean,
  family: number,
  sourceBits: number,
  bytes: Uint8Array,
  offset: number,
  byteLength: number,
  source: SourceAddress,
): void {
  out.scopeBase = 0;
  if (hasOption && sourceBits > 0) {
    out.fromOption = true;
    if (family === 6 && sourceBits >= V4_MAPPED_BITS && isV4MappedAt(bytes, offset)) {
      out.family = 4;
      out.bytes = bytes;
      out.offset = offset + 12;
      out.byteLength = byteLength - 12;
      out.bits = sourceBits - V4_MAPPED_BITS;
      out.scopeBase = V4_MAPPED_BITS;
      return;
    }
    out.family = family === 4 ? 4 : 6;
    out.bytes = bytes;
    out.offset = offset;
    out.byteLength = byteLength;
    out.bits = sourceBits;
    return;
  }
  out.fromOption = false;
  source.resolve();
  if (source.family === 6 && isV4MappedAt(source.bytes, source.offset)) {
    out.family = 4;
    out.bytes = source.bytes;
    out.offset = source.offset + 12;
  } else if (source.family === 4 || source.family === 6) {
    out.family = source.family;
    out.bytes = source.bytes;
    out.offset = source.offset;
  } else {
    out.family = 4;
    out.bytes = UNKNOWN;
    out.offset = 0;
  }
  out.byteLength = out.family === 4 ? 4 : 16;
  out.bits = out.byteLength * 8;
}

/** The rule for a decoded query: its ECS option if it has one, else `source`. */
export function effectiveSubnet(out: ClientSubnet, msg: Uint8Array, q: EcsFields, source: SourceAddress): void {
  chooseSubnet(out, q.hasEcs, q.ecsFamily === 1 ? 4 : 6, q.ecsSource, msg, q.ecsOffset + 4, q.ecsLength - 4, source);
}

/**
 * The same rule for explain and simulate, on prefixes: `client` as an ECS
 * option would carry it (length 0 = SOURCE 0), `source` the packet's source
 * address. Returns the prefix the query path looks up, and the SCOPE base.
 */
export function effectivePrefix(client: Prefix, source: Prefix | null = null): Prefix & { scopeBase: number } {
  const src = new SourceAddress();
  if (source) src.setBytes(source.family, source.bytes, 0);
  const out = new ClientSubnet();
  chooseSubnet(out, true, client.family, client.length, client.bytes, 0, client.bytes.length, src);
  const bytes = new Uint8Array(out.family === 4 ? 4 : 16);
  bytes.set(out.bytes.subarray(out.offset, out.offset + Math.min(out.byteLength, bytes.length)));
  return { family: out.family, bytes, length: out.bits, scopeBase: out.scopeBase };
}
