/**
 * RDATA served as bytes: presentation format to wire for TLSA (RFC 6698),
 * SSHFP (RFC 4255), DS (RFC 4034), NAPTR (RFC 3403), SVCB/HTTPS and LOC (in
 * their own modules), and RFC 3597 generic RDATA (`\# <length> <hex>`) for
 * any type. Whatever the form, the bytes pass the type's wire checks before
 * they are served, so a record written in generic form is held to the same
 * rules as one written in its own syntax.
 */
import { ByteReader, ByteWriter, charStringBytes, hexBytes, nameBytes, uint } from './bytes.js';
import { checkLoc, parseLoc } from './loc.js';
import type { Token } from './rdata.js';
import { checkSvcb, parseSvcb } from './svcb.js';
import type { GenericType, OpaqueType } from './types.js';

/** DNSSEC algorithm mnemonics accepted in DS records (RFC 4034 A.1, IANA "DNS Security Algorithm Numbers"). */
const ALGORITHMS: Record<string, number> = {
  RSAMD5: 1,
  DH: 2,
  DSA: 3,
  RSASHA1: 5,
  'DSA-NSEC3-SHA1': 6,
  'RSASHA1-NSEC3-SHA1': 7,
  RSASHA256: 8,
  RSASHA512: 10,
  'ECC-GOST': 12,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
  ED448: 16,
};
/** Digest lengths of the DS digest types (RFC 4034 5.1.4, RFC 4509, RFC 6605). */
const DS_DIGEST_LENGTH: Record<number, number> = { 1: 20, 2: 32, 4: 48 };
/** SSHFP fingerprint lengths (RFC 4255 3.1.2, RFC 6594). */
const SSHFP_LENGTH: Record<number, number> = { 1: 20, 2: 32 };
/** TLSA matching-type lengths (RFC 6698 2.1.3). */
const TLSA_LENGTH: Record<number, number> = { 1: 32, 2: 64 };

function fields(type: string, tokens: readonly Token[], min: number, names: string): void {
  if (tokens.length < min)
    throw new Error(`${type} expects ${names}, got ${tokens.length} field${tokens.length === 1 ? '' : 's'}`);
}

/** After `skip` octets, a type octet then data whose length that type fixes (`table`), or any non-empty length. */
function lengthCheck(
  type: string,
  what: string,
  skip: number,
  table: Record<number, number>,
): (rdata: Uint8Array) => void {
  return (rdata) => {
    const r = new ByteReader(rdata, type);
    r.take(skip);
    const kind = r.u8();
    const data = r.take(r.left);
    if (data.length === 0) throw new Error(`${type} ${what} is empty`);
    const want = table[kind];
    if (want !== undefined && data.length !== want)
      throw new Error(`${type} ${what} is ${data.length} octets; type ${kind} needs ${want}`);
  };
}

type Parse = (tokens: readonly Token[], origin: string) => Uint8Array;

const PARSERS: Record<OpaqueType, Parse> = {
  // RFC 6698 2.2: usage selector matching-type data (hex, may be split)
  TLSA: (t) => {
    fields('TLSA', t, 4, 'usage, selector, matching type and certificate data');
    return new ByteWriter()
      .u8(uint(t[0].text, 'TLSA usage', 255))
      .u8(uint(t[1].text, 'TLSA selector', 255))
      .u8(uint(t[2].text, 'TLSA matching type', 255))
      .raw(hexBytes(t.slice(3), 'TLSA certificate data'))
      .bytes();
  },
  // RFC 4255 3.2: algorithm fingerprint-type fingerprint (hex)
  SSHFP: (t) => {
    fields('SSHFP', t, 3, 'algorithm, fingerprint type and fingerprint');
    return new ByteWriter()
      .u8(uint(t[0].text, 'SSHFP algorithm', 255))
      .u8(uint(t[1].text, 'SSHFP fingerprint type', 255))
      .raw(hexBytes(t.slice(2), 'SSHFP fingerprint'))
      .bytes();
  },
  // RFC 4034 5.3: key-tag algorithm digest-type digest (hex, may be split)
  DS: (t) => {
    fields('DS', t, 4, 'key tag, algorithm, digest type and digest');
    const alg = ALGORITHMS[t[1].text.toUpperCase()] ?? uint(t[1].text, 'DS algorithm', 255);
    return new ByteWriter()
      .u16(uint(t[0].text, 'DS key tag', 65535))
      .u8(alg)
      .u8(uint(t[2].text, 'DS digest type', 255))
      .raw(hexBytes(t.slice(3), 'DS digest'))
      .bytes();
  },
  // RFC 3403 4.1: order preference flags services regexp replacement
  NAPTR: (t, origin) => {
    if (t.length !== 6)
      throw new Error(`NAPTR expects 6 fields (order preference flags services regexp replacement), got ${t.length}`);
    return new ByteWriter()
      .u16(uint(t[0].text, 'NAPTR order', 65535))
      .u16(uint(t[1].text, 'NAPTR preference', 65535))
      .charString(charStringBytes(t[2]), 'NAPTR flags')
      .charString(charStringBytes(t[3]), 'NAPTR services')
      .charString(charStringBytes(t[4]), 'NAPTR regexp')
      .raw(nameBytes(t[5], origin, 'NAPTR replacement'))
      .bytes();
  },
  SVCB: (t, origin) => parseSvcb('SVCB', t, origin),
  HTTPS: (t, origin) => parseSvcb('HTTPS', t, origin),
  LOC: (t) => parseLoc(t),
};

const CHECKS: Record<OpaqueType, (rdata: Uint8Array) => void> = {
  TLSA: lengthCheck('TLSA', 'certificate data', 2, TLSA_LENGTH),
  SSHFP: lengthCheck('SSHFP', 'fingerprint', 1, SSHFP_LENGTH),
  DS: lengthCheck('DS', 'digest', 3, DS_DIGEST_LENGTH),
  NAPTR: (b) => {
    const r = new ByteReader(b, 'NAPTR');
    r.u16();
    r.u16();
    const flags = Buffer.from(r.charString()).toString('latin1');
    if (!/^[A-Za-z0-9]*$/.test(flags))
      throw new Error(`NAPTR flags "${flags}" must be letters and digits (RFC 3403 4.1)`);
    r.charString();
    r.charString();
    r.name();
    r.end();
  },
  SVCB: (b) => checkSvcb('SVCB', b),
  HTTPS: (b) => checkSvcb('HTTPS', b),
  LOC: checkLoc,
};

/** True when the fields are RFC 3597 generic RDATA (`\#` first). */
export function isGenericRdata(tokens: readonly Token[]): boolean {
  return tokens.length > 0 && !tokens[0].quoted && tokens[0].text === '\\#';
}

/**
 * `\# <length> <hex...>` (RFC 3597 section 5): the RDATA octets.
 * @throws Error when the length does not match the data.
 */
export function parseGenericRdata(tokens: readonly Token[]): Uint8Array {
  if (tokens.length < 2) throw new Error('generic RDATA needs a length: \\# <length> <hex>');
  const length = uint(tokens[1].text, 'generic RDATA length', 65535);
  const bytes = hexBytes(tokens.slice(2), 'generic RDATA');
  if (bytes.length !== length) throw new Error(`generic RDATA says ${length} octets but has ${bytes.length}`);
  return bytes;
}

/**
 * Wire RDATA (hex) of a record served as bytes, from its fields in
 * presentation or generic form.
 * @throws Error with a readable reason.
 */
export function parseOpaqueRdata(type: OpaqueType | GenericType, tokens: readonly Token[], origin: string): string {
  let bytes: Uint8Array;
  if (isGenericRdata(tokens)) bytes = parseGenericRdata(tokens);
  else if (type.startsWith('TYPE'))
    throw new Error(`${type} needs its RDATA in RFC 3597 generic form: \\# <length> <hex>`);
  else bytes = PARSERS[type as OpaqueType](tokens, origin);
  if (!type.startsWith('TYPE')) CHECKS[type as OpaqueType](bytes);
  return Buffer.from(bytes).toString('hex');
}
