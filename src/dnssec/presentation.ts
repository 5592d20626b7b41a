/**
 * Presentation (master file) text of the DNSSEC RDATA Meridian makes:
 * DNSKEY/CDNSKEY, DS/CDS, RRSIG and NSEC (RFC 4034 sections 2.2, 3.2, 4.2,
 * 5.3), for key files, `meridian keygen` output, logs and tests. Base64 is
 * split into 56-character words the way BIND writes DNSKEYs, so one line of
 * a .key file is byte-identical to dnssec-keygen's.
 */
import { typeName } from './constants.js';
import { parseDnskeyRdata } from './dnskey.js';
import { nameWireLength, nameWireToText } from './name-wire.js';
import { parseRrsig } from './rrsig.js';
import { formatDnssecTime } from './time.js';
import { decodeTypeBitmap } from './type-bitmap.js';

const WORD = 56;

/** Base64 in words of 56 characters separated by spaces, as BIND prints key material. */
export function base64Words(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  const words: string[] = [];
  for (let i = 0; i < b64.length; i += WORD) words.push(b64.slice(i, i + WORD));
  return words.join(' ');
}

/** `257 3 13 <base64>` */
export function formatDnskey(rdata: Uint8Array): string {
  const k = parseDnskeyRdata(rdata);
  return `${k.flags} ${k.protocol} ${k.algorithm} ${base64Words(k.publicKey)}`;
}

/** `55648 13 2 <HEX>` (upper-case hex, as BIND prints it) */
export function formatDs(rdata: Uint8Array): string {
  const b = Buffer.from(rdata);
  return `${b.readUInt16BE(0)} ${b[2]} ${b[3]} ${b.subarray(4).toString('hex').toUpperCase()}`;
}

/** `A 13 3 3600 20100909100439 20100812100439 55648 example.net. <base64>` (RRSIG times at face value, before 2106) */
export function formatRrsig(rdata: Uint8Array): string {
  const s = parseRrsig(rdata);
  return [
    typeName(s.typeCovered),
    s.algorithm,
    s.labels,
    s.originalTtl,
    formatDnssecTime(s.expiration),
    formatDnssecTime(s.inception),
    s.keyTag,
    nameWireToText(s.signer),
    Buffer.from(s.signature).toString('base64'),
  ].join(' ');
}

/** `\000.a.example.com. RRSIG NSEC NXNAME`; `mnemonic` maps a type to its text (e.g. `TYPE128` for software that predates RFC 9824). */
export function formatNsec(rdata: Uint8Array, mnemonic: (type: number) => string = typeName): string {
  const nextLength = nameWireLength(rdata, 0);
  const next = nameWireToText(rdata.subarray(0, nextLength));
  const types = decodeTypeBitmap(rdata.subarray(nextLength)).map(mnemonic);
  return [next, ...types].join(' ');
}
