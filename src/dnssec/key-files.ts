/**
 * BIND key pairs on disk: load `K<zone>+<alg>+<tag>.key` and `.private`
 * into a signing key, refusing a private key file that group or others can
 * read or write (checked on the open descriptor, so the file checked is the
 * file read), a private key that does not match its DNSKEY, or a file name
 * whose tag is not the key's; and write a pair, the private file created
 * with mode 0600 and never over an existing file.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DnssecKeyError } from '../errors.js';
import {
  formatKeyFile,
  formatPrivateFile,
  keyFileBase,
  parseKeyFile,
  parsePrivateFile,
  type PublicKeyRecord,
} from './bind-key-text.js';
import { exportPrivateKey, importPrivateKey, type KeyMaterial } from './crypto-keys.js';
import { dnskeyRdata, parseDnskeyRdata } from './dnskey.js';
import { keyTag } from './key-tag.js';
import type { KeyTiming } from './key-timing.js';
import { nameWire } from './name-wire.js';
import type { ZoneSigningKey } from './rrsig.js';

/** A key pair loaded from (or written to) BIND key files. */
export interface ZoneKey extends ZoneSigningKey {
  /** The zone, canonical. */
  readonly zone: string;
  readonly zoneWire: Buffer;
  readonly flags: number;
  readonly algorithm: number;
  readonly ttl?: number;
  readonly timing: KeyTiming;
  readonly keyFile: string;
  readonly privateFile: string;
}

/** Permission bits a private key file must not have: anything for group or others. */
const GROUP_OTHER = 0o077;

/** Read a file that must be private, checking its mode on the open descriptor. */
function readPrivateFile(file: string): string {
  let fd: number;
  try {
    // Symbolic links are followed (secret mounts use them); the mode checked is the target's, on the open descriptor.
    fd = openSync(file, constants.O_RDONLY);
  } catch (err) {
    throw new DnssecKeyError(file, `cannot open: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DnssecKeyError(file, 'not a regular file');
    if ((st.mode & GROUP_OTHER) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new DnssecKeyError(
        file,
        `private key file has mode ${mode}, readable or writable by group or others; refusing to use it (chmod 600 '${file}')`,
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new DnssecKeyError(file, `cannot read: ${(err as Error).message}`);
  }
}

/** The `.key` and `.private` paths for a path given as the base, the .key or the .private file. */
export function keyPairPaths(given: string): { keyFile: string; privateFile: string } {
  const base = given.replace(/\.(key|private)$/, '');
  return { keyFile: `${base}.key`, privateFile: `${base}.private` };
}

/**
 * Load a key pair. `given` is `Kexample.net.+013+12345` with or without
 * `.key` / `.private`.
 * @throws DnssecKeyError naming the file at fault.
 */
export function loadKeyPair(given: string): ZoneKey {
  const { keyFile, privateFile } = keyPairPaths(given);
  const pub = parseKeyFile(readText(keyFile), keyFile);
  const priv = parsePrivateFile(readPrivateFile(privateFile), privateFile);
  const { flags, algorithm, publicKey } = parseDnskeyRdata(pub.dnskey);
  if (algorithm !== priv.algorithm) {
    throw new DnssecKeyError(
      privateFile,
      `algorithm ${priv.algorithm} does not match the DNSKEY's algorithm ${algorithm} in ${keyFile}`,
    );
  }
  let material: KeyMaterial;
  try {
    material = importPrivateKey(algorithm, priv.privateKey);
  } catch (err) {
    throw new DnssecKeyError(privateFile, `invalid private key: ${(err as Error).message}`);
  }
  if (!material.publicKeyBytes.equals(publicKey)) {
    throw new DnssecKeyError(privateFile, `the private key does not belong to the public key in ${keyFile}`);
  }
  const tag = keyTag(pub.dnskey);
  const m = /\+(\d{3})\+(\d{5})$/.exec(path.basename(keyFile, '.key'));
  if (m !== null && (Number(m[1]) !== algorithm || Number(m[2]) !== tag)) {
    throw new DnssecKeyError(
      keyFile,
      `the file name says algorithm ${Number(m[1])} tag ${Number(m[2])}, the key is algorithm ${algorithm} tag ${tag}`,
    );
  }
  return {
    zone: pub.zone,
    zoneWire: nameWire(pub.zone),
    flags,
    algorithm,
    ttl: pub.ttl,
    timing: priv.timing,
    keyFile,
    privateFile,
    material,
    dnskey: pub.dnskey,
    keyTag: tag,
  };
}

export interface KeyPairToWrite {
  zone: string;
  flags: number;
  material: KeyMaterial;
  timing: KeyTiming;
  ttl?: number;
}

/**
 * Write a key pair into `directory` under its BIND name: the .private file
 * first, created 0600 (exclusive: an existing file is never replaced), then
 * the .key file 0644.
 * @throws DnssecKeyError when a file exists or cannot be written.
 */
export function writeKeyPair(directory: string, key: KeyPairToWrite): ZoneKey {
  const dnskey = dnskeyRdata(key.flags, key.material.algorithm, key.material.publicKeyBytes);
  const tag = keyTag(dnskey);
  const base = path.join(directory, keyFileBase(key.zone, key.material.algorithm, tag));
  const keyFile = `${base}.key`;
  const privateFile = `${base}.private`;
  const record: PublicKeyRecord = {
    zone: key.zone,
    ownerText: key.zone === '' ? '.' : `${key.zone}.`,
    ttl: key.ttl,
    dnskey,
  };
  const privateText = formatPrivateFile({
    algorithm: key.material.algorithm,
    privateKey: exportPrivateKey(key.material),
    timing: key.timing,
  });
  writeExclusive(privateFile, privateText, 0o600);
  writeExclusive(keyFile, formatKeyFile(record, key.timing), 0o644);
  return {
    zone: key.zone,
    zoneWire: nameWire(key.zone),
    flags: key.flags,
    algorithm: key.material.algorithm,
    ttl: key.ttl,
    timing: key.timing,
    keyFile,
    privateFile,
    material: key.material,
    dnskey,
    keyTag: tag,
  };
}

function writeExclusive(file: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    throw new DnssecKeyError(file, `cannot create: ${(err as Error).message}`);
  }
  try {
    fchmodSync(fd, mode); // the umask may have taken bits away; the mode must be exactly this
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
