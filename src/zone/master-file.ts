/**
 * A small, strict RFC 1035 section 5 master-file (zone file) parser. It reads
 * the record types Meridian serves (and any type in RFC 3597 generic form),
 * class IN only (also written CLASS1), with $ORIGIN and $TTL (RFC 2308
 * section 4). Anything it does not understand is an error with the file and
 * the line where the offending record starts; it never guesses.
 */
import { ZoneFileError } from '../errors.js';
import { resolveName } from './names.js';
import { parseTtl, tokenize, TokenizeError, type LogicalLine, type Token } from './rdata.js';
import { parseRecordTokens } from './record-data.js';
import { didYouMean } from '../util/did-you-mean.js';
import { recordTypeOf, TYPE_MNEMONICS, type RecordType, type ZoneRecord } from './types.js';

/** Options for {@link parseMasterFile}. */
export interface MasterFileOptions {
  /** File name used in error messages. */
  file: string;
  /** Initial origin, canonical (lower-case, no trailing dot, root ''). */
  origin: string;
  /** TTL for records without one when no $TTL is in effect. */
  defaultTtl?: number;
}

/** Class mnemonics we recognise (RFC 1035 section 3.2.4, RFC 3597 section 5) so that non-IN is a clear error. */
const CLASS_RE = /^(IN|CH|CS|HS|ANY|NONE|CLASS\d+)$/i;

/** Parser state carried across logical lines. */
interface State {
  origin: string;
  ttl: number | undefined;
  previousOwner: string | undefined;
}

/**
 * Parse a master file into records, in file order. Owner names and names in
 * RDATA are canonical. TTLs come from the record, else $TTL, else
 * `opts.defaultTtl`, else it is an error.
 * @throws ZoneFileError(file, line, detail) on the first problem; with
 *   `onError`, each bad record goes there instead and the rest is still read
 *   (a file that does not tokenize still throws).
 */
export function parseMasterFile(
  text: string,
  opts: MasterFileOptions,
  onError?: (err: ZoneFileError) => void,
): ZoneRecord[] {
  const { file } = opts;
  let lines: LogicalLine[];
  try {
    lines = tokenize(text);
  } catch (err) {
    if (err instanceof TokenizeError) throw new ZoneFileError(file, err.line, err.message);
    throw err;
  }

  const state: State = { origin: opts.origin, ttl: undefined, previousOwner: undefined };
  const records: ZoneRecord[] = [];
  for (const logical of lines) {
    try {
      const first = logical.tokens[0];
      if (!logical.indented && !first.quoted && first.text.startsWith('$')) {
        directive(logical.tokens, state);
      } else {
        records.push(record(logical, state, opts.defaultTtl));
      }
    } catch (err) {
      const e = err instanceof ZoneFileError ? err : new ZoneFileError(file, logical.line, (err as Error).message);
      if (!onError) throw e;
      onError(e); // skip the record, read on
    }
  }
  return records;
}

/** $ORIGIN and $TTL (RFC 1035 section 5.1, RFC 2308 section 4); $INCLUDE is refused. */
function directive(tokens: Token[], state: State): void {
  const name = tokens[0].text.toUpperCase();
  const args = tokens.slice(1);
  switch (name) {
    case '$ORIGIN':
      if (args.length !== 1) throw new Error(`$ORIGIN expects 1 argument, got ${args.length}`);
      state.origin = bareName(args[0], state.origin, '$ORIGIN');
      return;
    case '$TTL':
      if (args.length !== 1) throw new Error(`$TTL expects 1 argument, got ${args.length}`);
      state.ttl = parseTtl(bare(args[0], '$TTL value'));
      return;
    case '$INCLUDE':
      throw new Error('$INCLUDE is not supported');
    default:
      throw new Error(`unknown directive '${tokens[0].text}'`);
  }
}

/** `<owner> [<ttl>] [<class>] <type> <rdata>` with TTL and class in either order (RFC 1035 section 5.1). */
function record(logical: LogicalLine, state: State, defaultTtl: number | undefined): ZoneRecord {
  const { tokens } = logical;
  let i = 0;
  let owner: string;
  if (logical.indented) {
    if (state.previousOwner === undefined)
      throw new Error('record starts with whitespace but there is no previous owner name');
    owner = state.previousOwner;
  } else {
    owner = bareName(tokens[0], state.origin, 'owner name');
    i = 1;
  }

  let ttl: number | undefined;
  let sawClass = false;
  for (; i < tokens.length && !tokens[i].quoted; i++) {
    const text = tokens[i].text;
    if (/^\d/.test(text)) {
      if (ttl !== undefined) throw new Error(`duplicate TTL '${text}'`);
      ttl = parseTtl(text);
    } else if (CLASS_RE.test(text)) {
      if (sawClass) throw new Error(`duplicate class '${text}'`);
      // CLASS1 is the RFC 3597 spelling of IN.
      if (!/^(IN|CLASS1)$/i.test(text)) throw new Error(`unsupported class '${text}': only IN is supported`);
      sawClass = true;
    } else {
      break;
    }
  }

  if (i >= tokens.length) throw new Error('missing record type');
  const type = recordType(tokens[i]);
  ttl ??= state.ttl ?? defaultTtl;
  if (ttl === undefined) throw new Error('no TTL on this record and no $TTL before it (and no default TTL)');

  state.previousOwner = owner;
  const data = parseRecordTokens(type, tokens.slice(i + 1), state.origin);
  return { name: owner, type, ttl, data } as ZoneRecord;
}

function recordType(token: Token): RecordType {
  if (token.quoted) throw new Error(`unknown record type "${token.text}"`);
  try {
    return recordTypeOf(token.text);
  } catch (err) {
    const message = (err as Error).message;
    if (!message.startsWith('unknown record type')) throw err;
    throw new Error(
      `${message}${didYouMean(token.text, TYPE_MNEMONICS)} (supported: ${TYPE_MNEMONICS.join(', ')}, and any type as TYPEnnn \\# <length> <hex>)`,
    );
  }
}

/** The text of a token that must not be a quoted string. */
function bare(token: Token, what: string): string {
  if (token.quoted) throw new Error(`${what} must not be a quoted string`);
  return token.text;
}

function bareName(token: Token, origin: string, what: string): string {
  const text = bare(token, what);
  try {
    return resolveName(text, origin);
  } catch (err) {
    throw new Error(`bad ${what} '${text}': ${(err as Error).message}`);
  }
}
