/**
 * DNSSEC times: the `YYYYMMDDHHmmSS` UTC form of RRSIG presentation
 * (RFC 4034 section 3.2) and of BIND key timing metadata, and RFC 1982
 * serial-number comparison of the 32-bit RRSIG time fields (RFC 4034
 * section 3.1.5), which wrap in 2106.
 */

/** Seconds since the epoch as `YYYYMMDDHHmmSS` (UTC). */
export function formatDnssecTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * `YYYYMMDDHHmmSS` (UTC) as seconds since the epoch.
 * @throws Error when the text is not 14 digits of a real date and time.
 */
export function parseDnssecTime(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (m === null) throw new Error(`'${text}' is not a YYYYMMDDHHMMSS time`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (formatDnssecTime(ms / 1000) !== text) throw new Error(`'${text}' is not a valid date and time`);
  return ms / 1000;
}

/** The 32-bit field value of a time (RFC 4034 section 3.1.5: seconds modulo 2^32). */
export function toSerialTime(seconds: number): number {
  return Math.floor(seconds) >>> 0;
}

/**
 * RFC 1982 comparison of two 32-bit times: negative when `a` is before `b`,
 * positive when after, 0 when equal (values exactly 2^31 apart are undefined
 * by the RFC; they compare as "before" here).
 */
export function compareSerialTime(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0; // the difference modulo 2^32 as a signed 32-bit number
}
