/**
 * SVCB and HTTPS records (RFC 9460): presentation format to wire RDATA, and
 * the checks every SVCB RDATA must pass (also when written in RFC 3597
 * generic form). `SvcPriority TargetName key=value ...`; values are
 * character-strings (quoted or not, RFC 1035 escapes), lists are
 * comma-separated with `\,` for a literal comma (RFC 9460 Appendix A.1).
 */
import { parseIp } from '../net/ip.js';
import { base64Bytes, ByteReader, ByteWriter, charStringBytes, nameBytes, uint } from './bytes.js';
import type { Token } from './rdata.js';

/** SvcParamKeys with a presentation name (IANA "Service Parameter Keys"; 7 RFC 9461, 8 RFC 9540). */
const KEY_NAMES = [
  'mandatory',
  'alpn',
  'no-default-alpn',
  'port',
  'ipv4hint',
  'ech',
  'ipv6hint',
  'dohpath',
  'ohttp',
] as const;
const MANDATORY = 0;
const ALPN = 1;
const NO_DEFAULT_ALPN = 2;

/** The numeric key of `name` (`alpn`, or `key667` in unknown-key form). */
function keyNumber(name: string): number {
  const known = (KEY_NAMES as readonly string[]).indexOf(name);
  if (known >= 0) return known;
  const m = /^key(0|[1-9]\d{0,4})$/.exec(name);
  if (!m || Number(m[1]) > 65535)
    throw new Error(`unknown SvcParamKey '${name}' (known: ${KEY_NAMES.join(', ')}, or keyNNNNN)`);
  if (Number(m[1]) === 65535) throw new Error('key65535 is reserved (RFC 9460 14.3.2)');
  return Number(m[1]);
}

function keyName(key: number): string {
  return KEY_NAMES[key] ?? `key${key}`;
}

/** Split a value-list on unescaped commas; `\,` and `\\` stand for themselves (RFC 9460 A.1.1). */
function valueList(bytes: Uint8Array, what: string): Uint8Array[] {
  const items: number[][] = [[]];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x5c) {
      if (i + 1 >= bytes.length) throw new Error(`${what}: a backslash ends the list`);
      items[items.length - 1].push(bytes[++i]);
    } else if (b === 0x2c) items.push([]);
    else items[items.length - 1].push(b);
  }
  if (items.some((it) => it.length === 0)) throw new Error(`${what}: empty item in the list`);
  return items.map((it) => Uint8Array.from(it));
}

const ascii = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function addresses(bytes: Uint8Array, family: 4 | 6, what: string): Uint8Array {
  const w = new ByteWriter();
  for (const item of valueList(bytes, what)) {
    const ip = parseIp(ascii(item));
    if (!ip || ip.family !== family || ascii(item).includes('%'))
      throw new Error(`${what}: '${ascii(item)}' is not an IPv${family} address`);
    w.raw(ip.bytes);
  }
  return w.bytes();
}

/** The wire value of a named key from its presentation value (null = written without `=`). */
function paramValue(key: number, value: Uint8Array | null): Uint8Array {
  const name = keyName(key);
  if (key > 8) return value ?? new Uint8Array(0); // keyNNNNN: the decoded value is the wire value
  if (key === NO_DEFAULT_ALPN || key === 8) {
    if (value !== null && value.length > 0) throw new Error(`${name} takes no value`);
    return new Uint8Array(0);
  }
  if (value === null || value.length === 0) throw new Error(`${name} needs a value`);
  const w = new ByteWriter();
  switch (key) {
    case MANDATORY: {
      const keys = valueList(value, name).map((k) => keyNumber(ascii(k)));
      for (const k of [...keys].sort((a, b) => a - b)) w.u16(k);
      return w.bytes();
    }
    case ALPN:
      for (const id of valueList(value, name)) w.charString(id, 'an alpn-id');
      return w.bytes();
    case 3:
      return w.u16(uint(ascii(value), 'port', 65535)).bytes();
    case 4:
      return addresses(value, 4, name);
    case 5:
      return base64Bytes(ascii(value), 'ech');
    case 6:
      return addresses(value, 6, name);
    default: // dohpath: a URI template, UTF-8 (RFC 9461 5)
      return value;
  }
}

/**
 * The SvcParams of a presentation-format record: `key`, `key=value` or
 * `key="value"` (the quoted string joined to the `=`).
 */
function params(tokens: readonly Token[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.quoted) throw new Error(`unexpected quoted string "${t.text}": SvcParams are key=value`);
    const eq = t.raw.indexOf('=');
    const name = eq < 0 ? t.raw : t.raw.slice(0, eq);
    let value: Uint8Array | null = null;
    if (eq >= 0 && eq < t.raw.length - 1) value = charStringBytes({ ...t, raw: t.raw.slice(eq + 1) });
    else if (eq >= 0) {
      const next = tokens[i + 1];
      if (next?.quoted && next.joined) {
        value = charStringBytes(next);
        i++;
      } else value = new Uint8Array(0);
    }
    const key = keyNumber(name);
    if (out.has(key)) throw new Error(`SvcParamKey ${keyName(key)} appears more than once (RFC 9460 2.2)`);
    out.set(key, /^key\d/.test(name) ? (value ?? new Uint8Array(0)) : paramValue(key, value));
  }
  return out;
}

/**
 * Parse `SvcPriority TargetName SvcParams...` into wire RDATA.
 * @throws Error with a readable reason.
 */
export function parseSvcb(type: 'SVCB' | 'HTTPS', tokens: readonly Token[], origin: string): Uint8Array {
  if (tokens.length < 2)
    throw new Error(`${type} expects SvcPriority, TargetName and SvcParams, got ${tokens.length} fields`);
  const priority = uint(tokens[0].text, `${type} SvcPriority`, 65535);
  const w = new ByteWriter().u16(priority).raw(nameBytes(tokens[1], origin, `${type} TargetName`));
  let ps: Map<number, Uint8Array>;
  try {
    ps = params(tokens.slice(2));
  } catch (err) {
    throw new Error(`${type} ${(err as Error).message}`);
  }
  for (const key of [...ps.keys()].sort((a, b) => a - b)) {
    const v = ps.get(key)!;
    w.u16(key).u16(v.length).raw(v);
  }
  const rdata = w.bytes();
  checkSvcb(type, rdata);
  return rdata;
}

/**
 * Check SVCB/HTTPS wire RDATA: structure, keys in strictly increasing order
 * (RFC 9460 2.2), each known key's value well formed, mandatory keys present
 * and not listing `mandatory` (RFC 9460 8), alpn with no-default-alpn, and no
 * SvcParams in AliasMode (RFC 9460 2.4.2).
 * @throws Error with the reason.
 */
export function checkSvcb(type: string, rdata: Uint8Array): void {
  const r = new ByteReader(rdata, type);
  const priority = r.u16();
  r.name();
  const seen: number[] = [];
  const mandatory: number[] = [];
  while (r.left > 0) {
    const key = r.u16();
    const value = r.take(r.u16());
    if (seen.length > 0 && key <= seen[seen.length - 1])
      throw new Error(`${type} SvcParamKeys must be in increasing order without repeats (RFC 9460 2.2)`);
    if (key === 65535) throw new Error('key65535 is reserved (RFC 9460 14.3.2)');
    seen.push(key);
    const name = keyName(key);
    const bad = (why: string) => new Error(`${type} ${name}: ${why}`);
    switch (key) {
      case MANDATORY: {
        if (value.length === 0 || value.length % 2) throw bad('must be a non-empty list of keys');
        const v = new ByteReader(value, type);
        for (let prev = -1; v.left > 0; ) {
          const k = v.u16();
          if (k <= prev) throw bad('keys must be in increasing order without repeats');
          if (k === MANDATORY) throw bad('must not list mandatory itself (RFC 9460 8)');
          mandatory.push((prev = k));
        }
        break;
      }
      case ALPN: {
        if (value.length === 0) throw bad('needs at least one alpn-id');
        const v = new ByteReader(value, type);
        while (v.left > 0) if (v.charString().length === 0) throw bad('an alpn-id is empty');
        break;
      }
      case NO_DEFAULT_ALPN:
      case 8:
        if (value.length) throw bad('takes no value');
        break;
      case 3:
        if (value.length !== 2) throw bad('must be 2 octets');
        break;
      case 4:
        if (value.length === 0 || value.length % 4) throw bad('must be one or more IPv4 addresses');
        break;
      case 5:
      case 7:
        if (value.length === 0) throw bad('needs a value');
        break;
      case 6:
        if (value.length === 0 || value.length % 16) throw bad('must be one or more IPv6 addresses');
        break;
    }
  }
  if (priority === 0 && seen.length > 0)
    throw new Error(`${type} in AliasMode (SvcPriority 0) carries no SvcParams (RFC 9460 2.4.2)`);
  for (const k of mandatory)
    if (!seen.includes(k))
      throw new Error(`${type} mandatory lists ${keyName(k)}, which the record does not have (RFC 9460 8)`);
  if (seen.includes(NO_DEFAULT_ALPN) && !seen.includes(ALPN))
    throw new Error(`${type} no-default-alpn needs alpn (RFC 9460 7.1.1)`);
}
