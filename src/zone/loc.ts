/**
 * LOC records (RFC 1876): presentation format to the 16-octet wire RDATA,
 * and the checks a LOC RDATA must pass.
 *   d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]
 * Latitude and longitude are thousandths of an arc-second from 2^31;
 * altitude is centimetres above 100,000 m below the WGS 84 spheroid; size
 * and precisions are one digit times a power of ten centimetres.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import type { Token } from './rdata.js';

const EQUATOR = 2 ** 31;
/** RFC 1876 section 3: defaults when size, hp and vp are not written. */
const DEFAULT_SIZE_CM = 100; // 1 m
const DEFAULT_HP_CM = 1_000_000; // 10,000 m
const DEFAULT_VP_CM = 1000; // 10 m
const ALT_BASE_CM = 10_000_000;
const MS_PER_DEGREE = 3_600_000;

/** "d [m [s]] H": returns thousandths of an arc-second (signed) and how many tokens it used. */
function angle(
  tokens: readonly Token[],
  start: number,
  hemis: [string, string],
  maxDeg: number,
  what: string,
): [number, number] {
  const parts: string[] = [];
  let i = start;
  while (i < tokens.length && parts.length < 3 && !hemis.includes(tokens[i].text.toUpperCase()))
    parts.push(tokens[i++].text);
  const hemi = tokens[i]?.text.toUpperCase();
  if (!hemi || !hemis.includes(hemi))
    throw new Error(`LOC ${what}: expected degrees [minutes [seconds]] then ${hemis.join(' or ')}`);
  if (parts.length === 0) throw new Error(`LOC ${what}: degrees are missing`);
  const [d, m = '0', s = '0'] = parts;
  if (!/^\d+$/.test(d) || Number(d) > maxDeg) throw new Error(`LOC ${what}: degrees '${d}' must be 0..${maxDeg}`);
  if (!/^\d+$/.test(m) || Number(m) > 59) throw new Error(`LOC ${what}: minutes '${m}' must be 0..59`);
  const sm = /^(\d+)(?:\.(\d{1,3}))?$/.exec(s);
  if (!sm || Number(sm[1]) > 59) throw new Error(`LOC ${what}: seconds '${s}' must be 0..59.999`);
  const ms = (Number(d) * 3600 + Number(m) * 60 + Number(sm[1])) * 1000 + Number((sm[2] ?? '').padEnd(3, '0'));
  if (ms > maxDeg * MS_PER_DEGREE) throw new Error(`LOC ${what}: more than ${maxDeg} degrees`);
  return [hemi === hemis[0] ? ms : -ms, i + 1 - start];
}

/** Metres with up to two decimals and an optional "m", as centimetres. */
function centimetres(text: string, what: string, signed: boolean): number {
  const m = (signed ? /^(-?)(\d+)(?:\.(\d{1,2}))?m?$/ : /^()(\d+)(?:\.(\d{1,2}))?m?$/).exec(text);
  if (!m)
    throw new Error(
      `LOC ${what} '${text}' must be metres with up to two decimals, like ${signed ? '-24m or 12.5' : '30m'}`,
    );
  const cm = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -cm : cm;
}

/** Size or precision: one digit times a power of ten centimetres (RFC 1876 section 2), exactly. */
function precision(cm: number, what: string): number {
  if (cm === 0) return 0;
  for (let exponent = 0; exponent <= 9; exponent++) {
    const mantissa = cm / 10 ** exponent;
    if (mantissa <= 9 && Number.isInteger(mantissa)) return (mantissa << 4) | exponent;
  }
  throw new Error(
    `LOC ${what} ${cm / 100}m cannot be stored: it must be one digit followed by zeros (like 30m, 2000m, 0.5m), at most 90000000m`,
  );
}

/**
 * Parse a LOC record's fields into wire RDATA.
 * @throws Error with a readable reason.
 */
export function parseLoc(tokens: readonly Token[]): Uint8Array {
  const [lat, latUsed] = angle(tokens, 0, ['N', 'S'], 90, 'latitude');
  const [lon, lonUsed] = angle(tokens, latUsed, ['E', 'W'], 180, 'longitude');
  const rest = tokens.slice(latUsed + lonUsed).map((t) => t.text);
  if (rest.length === 0) throw new Error('LOC altitude is missing');
  if (rest.length > 4)
    throw new Error(`LOC has ${rest.length - 4} fields too many after the altitude, size, hp and vp`);
  const alt = centimetres(rest[0], 'altitude', true);
  if (alt < -ALT_BASE_CM || alt + ALT_BASE_CM > 0xffffffff)
    throw new Error(`LOC altitude '${rest[0]}' must be -100000.00m..42849672.95m`);
  const [size, hp, vp] = [
    rest[1] === undefined ? DEFAULT_SIZE_CM : centimetres(rest[1], 'size', false),
    rest[2] === undefined ? DEFAULT_HP_CM : centimetres(rest[2], 'horizontal precision', false),
    rest[3] === undefined ? DEFAULT_VP_CM : centimetres(rest[3], 'vertical precision', false),
  ];
  return new ByteWriter()
    .u8(0)
    .u8(precision(size, 'size'))
    .u8(precision(hp, 'horizontal precision'))
    .u8(precision(vp, 'vertical precision'))
    .u32(EQUATOR + lat)
    .u32(EQUATOR + lon)
    .u32(alt + ALT_BASE_CM)
    .bytes();
}

/**
 * Check LOC wire RDATA: 16 octets, version 0, size and precisions with digits
 * 0-9, latitude and longitude within +-90 and +-180 degrees.
 * @throws Error with the reason.
 */
export function checkLoc(rdata: Uint8Array): void {
  const r = new ByteReader(rdata, 'LOC');
  if (rdata.length !== 16) throw new Error(`LOC RDATA is 16 octets, got ${rdata.length}`);
  if (r.u8() !== 0) throw new Error('LOC version must be 0 (RFC 1876 section 2)');
  for (const what of ['size', 'horizontal precision', 'vertical precision']) {
    const b = r.u8();
    if (b >> 4 > 9 || (b & 15) > 9) throw new Error(`LOC ${what} octet 0x${b.toString(16)} has a digit over 9`);
  }
  const lat = r.u16() * 65536 + r.u16() - EQUATOR;
  const lon = r.u16() * 65536 + r.u16() - EQUATOR;
  if (Math.abs(lat) > 90 * MS_PER_DEGREE) throw new Error('LOC latitude is beyond 90 degrees');
  if (Math.abs(lon) > 180 * MS_PER_DEGREE) throw new Error('LOC longitude is beyond 180 degrees');
}
