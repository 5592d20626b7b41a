/**
 * The text of BIND key files, both ways, without I/O:
 * `K<zone>+<alg>+<tag>.key` (comments with the role and timing, then the
 * DNSKEY record) and `.private` (`Private-key-format: v1.3`, the algorithm,
 * the private key, the timing metadata), exactly as dnssec-keygen 9.18
 * writes them, so BIND tools read ours and we read theirs. Errors are
 * DnssecKeyError naming the file and line.
 */
import { DnssecKeyError } from '../errors.js';
import { resolveName } from '../zone/names.js';
import { algorithmSpec } from './algorithms.js';
import { DnskeyFlag } from './constants.js';
import { dnskeyRdata, isSep, parseDnskeyRdata } from './dnskey.js';
import { keyTag } from './key-tag.js';
import { TIMING_FIELDS, type KeyTiming, type TimingField } from './key-timing.js';
import { base64Words } from './presentation.js';
import { formatDnssecTime, parseDnssecTime } from './time.js';

/** The DNSKEY record of a .key file. */
export interface PublicKeyRecord {
  /** The zone, canonical (lower-case, no trailing dot). */
  zone: string;
  /** The owner as the file spells it (case kept), for writing it back. */
  ownerText: string;
  /** TTL when the file gives one (dnssec-keygen -L). */
  ttl?: number;
  dnskey: Buffer;
}

/** The content of a .private file. */
export interface PrivateKeyRecord {
  /** `v1.3` as dnssec-keygen writes it, `v1.2` in older files and the RFC examples. */
  format: string;
  algorithm: number;
  privateKey: Buffer;
  timing: KeyTiming;
}

const CLASSES = new Set(['IN']);

/**
 * Parse a .key file: comment and blank lines skipped, then
 * `owner [ttl] [IN] DNSKEY flags 3 alg base64...` (parentheses allowed).
 */
export function parseKeyFile(text: string, file: string): PublicKeyRecord {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith(';'));
  if (start === -1) throw new DnssecKeyError(file, 'no DNSKEY record in the file');
  const lineNo = start + 1;
  const tokens = lines
    .slice(start)
    .map((l) => l.replace(/;.*$/, ''))
    .join(' ')
    .replace(/[()]/g, ' ')
    .trim()
    .split(/\s+/);
  const fail = (detail: string): never => {
    throw new DnssecKeyError(file, `line ${lineNo}: ${detail}`);
  };
  const ownerText = tokens[0];
  let zone = '';
  try {
    zone = resolveName(ownerText, '');
  } catch (err) {
    fail(`owner '${ownerText}': ${(err as Error).message}`);
  }
  let i = 1;
  let ttl: number | undefined;
  for (; i < tokens.length && tokens[i].toUpperCase() !== 'DNSKEY'; i++) {
    const t = tokens[i];
    if (/^\d+$/.test(t) && ttl === undefined) ttl = Number(t);
    else if (!CLASSES.has(t.toUpperCase())) fail(`unexpected '${t}' before DNSKEY`);
  }
  if (i >= tokens.length) fail('no DNSKEY record in the file');
  const [flagsText, protocolText, algText, ...keyWords] = tokens.slice(i + 1);
  const numbers = [flagsText, protocolText, algText].map((t) => (t !== undefined && /^\d+$/.test(t) ? Number(t) : NaN));
  if (numbers.some(Number.isNaN) || keyWords.length === 0)
    fail('expected DNSKEY <flags> <protocol> <algorithm> <base64 key>');
  const [flags, protocol, algorithm] = numbers;
  if (flags > 0xffff || algorithm > 0xff) fail('flags or algorithm out of range');
  if (protocol !== 3) fail(`DNSKEY protocol must be 3 (RFC 4034 section 2.1.2), not ${protocol}`);
  const b64 = keyWords.join('');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) fail('the public key is not base64');
  return { zone, ownerText, ttl, dnskey: dnskeyRdata(flags, algorithm, Buffer.from(b64, 'base64')) };
}

/** Parse a .private file (`Tag: value` lines). */
export function parsePrivateFile(text: string, file: string): PrivateKeyRecord {
  const fields = new Map<string, { value: string; line: number }>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith(';')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new DnssecKeyError(file, `line ${index + 1}: expected 'Tag: value', got '${line}'`);
    fields.set(line.slice(0, colon).trim(), { value: line.slice(colon + 1).trim(), line: index + 1 });
  });
  const need = (tag: string) => {
    const f = fields.get(tag);
    if (f === undefined) throw new DnssecKeyError(file, `no '${tag}:' line`);
    return f;
  };
  const format = need('Private-key-format').value;
  if (!/^v1\.\d+$/.test(format))
    throw new DnssecKeyError(file, `unsupported Private-key-format '${format}' (v1.x expected)`);
  for (const tag of ['Engine', 'Label']) {
    if (fields.has(tag))
      throw new DnssecKeyError(
        file,
        `line ${fields.get(tag)!.line}: keys in an HSM or OpenSSL engine ('${tag}:') are not supported; the private key must be in the file`,
      );
  }
  const alg = need('Algorithm');
  const algorithm = Number(/^(\d+)/.exec(alg.value)?.[1] ?? NaN);
  const spec = algorithmSpec(algorithm);
  if (spec === undefined || !spec.signs) {
    throw new DnssecKeyError(
      file,
      `line ${alg.line}: algorithm '${alg.value}' is not supported: Meridian signs with 13 (ECDSAP256SHA256) or 15 (ED25519)`,
    );
  }
  const pk = need('PrivateKey');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(pk.value))
    throw new DnssecKeyError(file, `line ${pk.line}: PrivateKey is not base64`);
  const timing: KeyTiming = {};
  for (const field of TIMING_FIELDS) {
    const f = fields.get(field);
    if (f === undefined) continue;
    try {
      timing[field] = parseDnssecTime(f.value);
    } catch (err) {
      throw new DnssecKeyError(file, `line ${f.line}: ${field}: ${(err as Error).message}`);
    }
  }
  return { format, algorithm, privateKey: Buffer.from(pk.value, 'base64'), timing };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

/** C ctime(3) text in local time (`Wed Dec  2 01:03:32 2026`), which BIND puts after each date in a .key file. */
export function ctime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${time} ${d.getFullYear()}`;
}

const setFields = (timing: KeyTiming) => TIMING_FIELDS.filter((f) => timing[f] !== undefined) as TimingField[];

/** The .key file text dnssec-keygen writes for this key. */
export function formatKeyFile(key: PublicKeyRecord, timing: KeyTiming): string {
  const { flags, algorithm } = parseDnskeyRdata(key.dnskey);
  const role = isSep(flags) ? 'key' : 'zone';
  const revoked = flags & DnskeyFlag.REVOKE ? 'revoked ' : '';
  const lines = [`; This is a ${revoked}${role}-signing key, keyid ${keyTag(key.dnskey)}, for ${key.ownerText}`];
  for (const f of setFields(timing)) lines.push(`; ${f}: ${formatDnssecTime(timing[f]!)} (${ctime(timing[f]!)})`);
  const ttl = key.ttl === undefined ? '' : ` ${key.ttl}`;
  const pub = key.dnskey.subarray(4);
  lines.push(`${key.ownerText}${ttl} IN DNSKEY ${flags} 3 ${algorithm} ${base64Words(pub)}`);
  return `${lines.join('\n')}\n`;
}

/** The .private file text dnssec-keygen writes (format v1.3). */
export function formatPrivateFile(key: Omit<PrivateKeyRecord, 'format'>): string {
  const spec = algorithmSpec(key.algorithm);
  if (spec === undefined) throw new Error(`unsupported algorithm ${key.algorithm}`);
  const lines = [
    'Private-key-format: v1.3',
    `Algorithm: ${key.algorithm} (${spec.mnemonic})`,
    `PrivateKey: ${key.privateKey.toString('base64')}`,
  ];
  for (const f of setFields(key.timing)) lines.push(`${f}: ${formatDnssecTime(key.timing[f]!)}`);
  return `${lines.join('\n')}\n`;
}

/** `K<zone>.+<alg>+<tag>` with the zone lower-cased, as BIND names key files (`K.+013+12345` for the root). */
export function keyFileBase(zone: string, algorithm: number, tag: number): string {
  return `K${zone === '' ? '' : zone.toLowerCase()}.+${String(algorithm).padStart(3, '0')}+${String(tag).padStart(5, '0')}`;
}
