/**
 * One entry point for the RDATA of every record type a zone can hold, shared
 * by master files and YAML records: structured types (rdata.ts), types served
 * as bytes (opaque-rdata.ts), RFC 3597 generic RDATA for either, and generic
 * types (`TYPE65400 \# 3 abcdef`).
 */
import { decodeRdata } from '../wire/rr.js';
import { resolveName } from './names.js';
import { isGenericRdata, parseGenericRdata, parseOpaqueRdata } from './opaque-rdata.js';
import { parseRdataTokens, rdataTokens, type Token } from './rdata.js';
import { isStaticType, TYPE_CODES, type RecordType, type StaticType, type ZoneRecord } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const canonical = (name: string) => (name === '' ? '' : resolveName(`${name}.`, ''));

/** dns-packet's decoding of a structured type, in the canonical shape the parsers give. */
function normalise(type: StaticType, data: unknown): ZoneRecord['data'] {
  const d = data as Record<string, unknown>;
  switch (type) {
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return canonical(data as string);
    case 'A':
      return data as string;
    case 'AAAA':
      return (data as string).toLowerCase();
    case 'MX':
      return { preference: d.preference as number, exchange: canonical(d.exchange as string) };
    case 'SRV':
      return {
        priority: d.priority as number,
        weight: d.weight as number,
        port: d.port as number,
        target: canonical(d.target as string),
      };
    case 'SOA':
      return {
        mname: canonical(d.mname as string),
        rname: canonical(d.rname as string),
        serial: d.serial as number,
        refresh: d.refresh as number,
        retry: d.retry as number,
        expire: d.expire as number,
        minimum: d.minimum as number,
      };
    case 'CAA':
      return { flags: d.flags as number, tag: d.tag as string, value: d.value as string };
    case 'TXT':
      return (data as Uint8Array[]).map((b) => utf8.decode(b));
  }
}

/**
 * The RDATA of a `type` record from its presentation-format fields: the
 * structure for structured types, the wire bytes in hex for the others.
 * @throws Error with a readable reason.
 */
export function parseRecordTokens(type: RecordType, tokens: readonly Token[], origin: string): ZoneRecord['data'] {
  if (!isStaticType(type)) return parseOpaqueRdata(type, tokens, origin);
  if (!isGenericRdata(tokens)) return parseRdataTokens(type, tokens, origin);
  // RFC 3597 section 5: a known type in generic form is still that type.
  const decoded = decodeRdata(type, TYPE_CODES[type], parseGenericRdata(tokens));
  if (decoded === null) throw new Error(`generic RDATA is not a valid ${type}`);
  try {
    return normalise(type, decoded);
  } catch (err) {
    throw new Error(`generic RDATA is not a valid ${type}: ${(err as Error).message}`);
  }
}

/** {@link parseRecordTokens} for RDATA written on one line (a YAML record value). */
export function parseRecordText(type: RecordType, text: string, origin: string): ZoneRecord['data'] {
  return parseRecordTokens(type, rdataTokens(type, text), origin);
}
