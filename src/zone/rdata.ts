/**
 * Presentation-format RDATA (RFC 1035 section 5.1) for the static record
 * types, shared by the YAML config and the master-file parser. Also home of
 * the presentation-format tokenizer both of them use, so a record written in
 * YAML and in a zone file is read by exactly the same rules.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { resolveName } from './names.js';
import type { CaaData, MxData, RdataByType, SoaData, SrvData, StaticType } from './types.js';

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

/** One token. Quoted strings are unquoted and escape-decoded; bare words are kept verbatim. */
export interface Token {
  text: string;
  quoted: boolean;
  /** As written (between the quotes for a quoted string), escapes intact: binary values decode from it. */
  raw: string;
  /** Follows the previous token with nothing between (the value of `key="value"`). */
  joined: boolean;
  /** Set when a quoted string's escapes decode to bytes that are not UTF-8 (`text` is then the raw form). */
  notUtf8?: string;
}

/** One logical line: a record or directive, possibly spanning physical lines inside '(' ')'. */
export interface LogicalLine {
  /** 1-based physical line where the logical line starts. */
  line: number;
  /** The logical line starts with whitespace (blank owner, RFC 1035 section 5.1). */
  indented: boolean;
  tokens: Token[];
}

/** A tokenizer failure, with the 1-based line where the offending logical line starts. */
export class TokenizeError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'TokenizeError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode `\X` (literal X) and `\DDD` (decimal octet) escapes (RFC 1035
 * section 5.1). The resulting octets must form valid UTF-8.
 * @throws Error on a malformed escape or invalid UTF-8.
 */
export function decodeEscapes(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return utf8.decode(decodeEscapeBytes(raw));
  } catch (err) {
    if (err instanceof TypeError) throw new Error(`string '${raw}' is not valid UTF-8 after decoding escapes`);
    throw err;
  }
}

/**
 * The octets of a character-string with `\X` and `\DDD` escapes (RFC 1035
 * section 5.1), any byte values allowed (SVCB values, RFC 9460 A.1).
 * @throws Error on a malformed escape.
 */
export function decodeEscapeBytes(raw: string): Uint8Array {
  const bytes: number[] = [];
  const chars = [...raw];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = chars[i + 1];
    if (next === undefined) throw new Error('dangling backslash at end of string');
    if (next >= '0' && next <= '9') {
      const digits = chars.slice(i + 1, i + 4).join('');
      if (!/^\d{3}$/.test(digits)) throw new Error(`bad escape '\\${digits}': \\DDD needs exactly three digits`);
      const value = Number(digits);
      if (value > 255) throw new Error(`bad escape '\\${digits}': value is over 255`);
      bytes.push(value);
      i += 3;
    } else {
      bytes.push(...Buffer.from(next, 'utf8'));
      i += 1;
    }
  }
  return Uint8Array.from(bytes);
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\r';
/** Characters that end a bare word. */
const isDelimiter = (c: string): boolean =>
  isBlank(c) || c === '\n' || c === ';' || c === '(' || c === ')' || c === '"';

/**
 * Split presentation-format text into logical lines (RFC 1035 section 5.1):
 * ';' starts a comment outside quotes, '(' ... ')' lets a record span lines,
 * "..." is one token (with `\"`, `\\` and `\DDD` escapes), a backslash in a
 * bare word keeps the next character in the word. Blank lines are dropped.
 * @throws TokenizeError on unbalanced parentheses or an unterminated string.
 */
export function tokenize(text: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let current: LogicalLine | null = null;
  let physical = 1;
  let depth = 0;
  let atLineStart = true;
  let i = 0;
  /** Where the last token ended (to tell `key="value"` from `key= "value"`). */
  let lastEnd = -1;

  const fail = (message: string): never => {
    throw new TokenizeError(current?.line ?? physical, message);
  };
  const push = (token: Omit<Token, 'joined'>, start: number, end: number): void => {
    current ??= { line: physical, indented: false, tokens: [] };
    current.tokens.push({ ...token, joined: current.tokens.length > 0 && start === lastEnd });
    lastEnd = end;
  };
  const endLogical = (): void => {
    if (current !== null && current.tokens.length > 0) lines.push(current);
    current = null;
  };

  while (i < text.length) {
    if (atLineStart && depth === 0) {
      endLogical();
      current = { line: physical, indented: isBlank(text[i]) && text[i] !== '\r', tokens: [] };
    }
    atLineStart = false;
    const c = text[i];
    if (c === '\n') {
      physical++;
      atLineStart = true;
      i++;
    } else if (isBlank(c)) {
      i++;
    } else if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(') {
      if (depth > 0) fail("nested '(' is not allowed");
      depth++;
      i++;
    } else if (c === ')') {
      if (depth === 0) fail("unbalanced ')'");
      depth--;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\n') fail('unterminated quoted string');
        if (text[j] === '\\') {
          if (j + 1 >= text.length || text[j + 1] === '\n') fail('unterminated quoted string');
          j++;
        }
        j++;
      }
      if (j >= text.length) fail('unterminated quoted string');
      const raw = text.slice(i + 1, j);
      let bytes: Uint8Array = new Uint8Array(0);
      try {
        bytes = decodeEscapeBytes(raw);
      } catch (err) {
        fail((err as Error).message);
      }
      let decoded: string | null = null;
      try {
        decoded = utf8.decode(bytes);
      } catch {
        /* not text: only types with binary values (SVCB) can use it */
      }
      const notUtf8 = decoded === null ? `string '${raw}' is not valid UTF-8 after decoding escapes` : undefined;
      push({ text: decoded ?? raw, quoted: true, raw, ...(notUtf8 ? { notUtf8 } : {}) }, i, j + 1);
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !isDelimiter(text[j])) {
        if (text[j] === '\\') {
          if (j + 1 >= text.length || text[j + 1] === '\n') fail('backslash at end of line');
          j++;
        }
        j++;
      }
      push({ text: text.slice(i, j), quoted: false, raw: text.slice(i, j) }, i, j);
      i = j;
    }
  }
  if (depth > 0) fail("unterminated '(': missing ')' before end of input");
  endLogical();
  return lines;
}

// ---------------------------------------------------------------------------
// Field parsers
// ---------------------------------------------------------------------------

/** Largest TTL (RFC 2181 section 8: 0..2^31-1). */
const MAX_TTL = 2147483647;
const MAX_U16 = 65535;
const MAX_U32 = 4294967295;
const UNIT_SECONDS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };

function parseUint(text: string, what: string, max: number): number {
  if (!/^\d+$/.test(text)) throw new Error(`${what} must be an unsigned integer, got '${text}'`);
  const value = Number(text);
  if (value > max) throw new Error(`${what} ${text} is out of range 0..${max}`);
  return value;
}

/** Seconds, or BIND-style units such as `1w2d3h4m5s` (case-insensitive). */
function parseDuration(text: string, what: string): number {
  let seconds: number;
  if (/^\d+$/.test(text)) {
    seconds = Number(text);
  } else if (/^(\d+[wdhms])+$/i.test(text)) {
    seconds = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+)([wdhms])/gi)) {
      seconds += Number(amount) * UNIT_SECONDS[unit.toLowerCase()];
    }
  } else {
    throw new Error(`bad ${what} '${text}': expected seconds or units like 1h30m`);
  }
  if (seconds > MAX_TTL) throw new Error(`${what} '${text}' is out of range 0..${MAX_TTL} seconds`);
  return seconds;
}

/**
 * Parse a TTL: plain seconds or BIND-style units (`1w2d3h4m5s`,
 * case-insensitive), within 0..2147483647 (RFC 2181 section 8).
 * @throws Error on malformed or out-of-range input.
 */
export function parseTtl(text: string): number {
  return parseDuration(text, 'TTL');
}

function parseName(text: string, origin: string, what: string): string {
  try {
    return resolveName(text, origin);
  } catch (err) {
    throw new Error(`bad ${what} '${text}': ${(err as Error).message}`);
  }
}

function parseIPv4(text: string): string {
  // node accepts no leading zeros today, but be explicit: '010' is octal to some tools.
  if (!isIPv4(text) || text.split('.').some((o) => o.length > 1 && o.startsWith('0'))) {
    throw new Error(`bad IPv4 address '${text}'`);
  }
  return text;
}

function parseIPv6(text: string): string {
  // isIPv6 accepts zone indices ('fe80::1%eth0'), which have no place in RDATA.
  if (!isIPv6(text) || text.includes('%')) throw new Error(`bad IPv6 address '${text}'`);
  return text.toLowerCase();
}

function expectFields(type: StaticType, tokens: string[], fields: string[]): void {
  if (tokens.length !== fields.length) {
    const noun = fields.length === 1 ? 'field' : 'fields';
    throw new Error(
      `${type} expects ${fields.length} ${noun} (${fields.join(' ')}), got ${tokens.length}` +
        (tokens.length > 0 ? `: '${tokens.join(' ')}'` : ''),
    );
  }
}

// ---------------------------------------------------------------------------
// Per-type RDATA parsers
// ---------------------------------------------------------------------------

type Parser<T extends StaticType> = (tokens: string[], origin: string) => RdataByType[T];

const singleName =
  (type: StaticType, field: string) =>
  (tokens: string[], origin: string): string => {
    expectFields(type, tokens, [field]);
    return parseName(tokens[0], origin, `${type} ${field}`);
  };

const PARSERS: { [T in StaticType]: Parser<T> } = {
  // RFC 1035 section 3.3.13
  SOA: (tokens, origin): SoaData => {
    expectFields('SOA', tokens, ['mname', 'rname', 'serial', 'refresh', 'retry', 'expire', 'minimum']);
    const [mname, rname, serial, refresh, retry, expire, minimum] = tokens;
    return {
      mname: parseName(mname, origin, 'SOA mname'),
      rname: parseName(rname, origin, 'SOA rname'),
      serial: parseUint(serial, 'SOA serial', MAX_U32),
      refresh: parseDuration(refresh, 'SOA refresh'),
      retry: parseDuration(retry, 'SOA retry'),
      expire: parseDuration(expire, 'SOA expire'),
      minimum: parseDuration(minimum, 'SOA minimum'),
    };
  },
  NS: singleName('NS', 'nsdname'),
  CNAME: singleName('CNAME', 'target'),
  // RFC 6672 section 2.1
  DNAME: singleName('DNAME', 'target'),
  PTR: singleName('PTR', 'target'),
  // RFC 1035 section 3.4.1
  A: (tokens) => {
    expectFields('A', tokens, ['address']);
    return parseIPv4(tokens[0]);
  },
  // RFC 3596 section 2.4
  AAAA: (tokens) => {
    expectFields('AAAA', tokens, ['address']);
    return parseIPv6(tokens[0]);
  },
  // RFC 1035 section 3.3.9
  MX: (tokens, origin): MxData => {
    expectFields('MX', tokens, ['preference', 'exchange']);
    return {
      preference: parseUint(tokens[0], 'MX preference', MAX_U16),
      exchange: parseName(tokens[1], origin, 'MX exchange'),
    };
  },
  // RFC 1035 section 3.3.14: one or more <character-string>s of at most 255 octets.
  TXT: (tokens) => {
    if (tokens.length === 0) throw new Error('TXT needs at least one character-string');
    for (const s of tokens) {
      const octets = Buffer.byteLength(s, 'utf8');
      if (octets > 255) throw new Error(`TXT character-string is ${octets} bytes long, max 255`);
    }
    return [...tokens];
  },
  // RFC 2782
  SRV: (tokens, origin): SrvData => {
    expectFields('SRV', tokens, ['priority', 'weight', 'port', 'target']);
    return {
      priority: parseUint(tokens[0], 'SRV priority', MAX_U16),
      weight: parseUint(tokens[1], 'SRV weight', MAX_U16),
      port: parseUint(tokens[2], 'SRV port', MAX_U16),
      target: parseName(tokens[3], origin, 'SRV target'),
    };
  },
  // RFC 8659 section 4.1
  CAA: (tokens): CaaData => {
    expectFields('CAA', tokens, ['flags', 'tag', 'value']);
    const [flags, tag, value] = tokens;
    if (!/^[A-Za-z0-9]{1,15}$/.test(tag)) {
      throw new Error(`bad CAA tag '${tag}': must be 1..15 letters or digits`);
    }
    return { flags: parseUint(flags, 'CAA flags', 255), tag, value };
  },
};

/**
 * Parse the RDATA of one record from its presentation-format fields. Names
 * are resolved against `origin` (canonical) and returned canonical.
 * @throws Error with a human-readable message on any problem.
 */
export function parseRdata<T extends StaticType>(type: T, tokens: string[], origin: string): RdataByType[T] {
  const parser: Parser<T> | undefined = PARSERS[type];
  if (parser === undefined) throw new Error(`unknown record type '${String(type)}'`);
  return parser(tokens, origin);
}

/**
 * Like {@link parseRdata} but from tokenizer output. For TXT and CAA, bare
 * words have their escapes decoded like quoted strings; for the other types
 * bare words are passed verbatim (so an escaped name is rejected by the name
 * rules rather than silently altered).
 */
export function parseRdataTokens<T extends StaticType>(
  type: T,
  tokens: readonly Token[],
  origin: string,
): RdataByType[T] {
  const binary = tokens.find((t) => t.notUtf8 !== undefined);
  if (binary) throw new Error(binary.notUtf8);
  const decode = type === 'TXT' || type === 'CAA';
  const fields = tokens.map((t) => (t.quoted || !decode ? t.text : decodeEscapes(t.text)));
  return parseRdata(type, fields, origin);
}

/**
 * Tokenize a single-line RDATA string with the master-file rules and parse
 * it, e.g. `parseRdataText('MX', '10 mail', 'example.org')` or
 * `parseRdataText('TXT', '"part one" "part two"', origin)`.
 * @throws Error with a human-readable message on any problem.
 */
export function parseRdataText<T extends StaticType>(type: T, text: string, origin: string): RdataByType[T] {
  return parseRdataTokens(type, rdataTokens(type, text), origin);
}

/**
 * The tokens of RDATA written on one line (a YAML record value), with the
 * master-file rules.
 * @throws Error when it does not tokenize or spans several lines.
 */
export function rdataTokens(type: string, text: string): Token[] {
  let lines: LogicalLine[];
  try {
    lines = tokenize(text);
  } catch (err) {
    throw new Error((err as Error).message);
  }
  if (lines.length > 1) throw new Error(`${type} RDATA must be a single line`);
  return lines[0]?.tokens ?? [];
}
