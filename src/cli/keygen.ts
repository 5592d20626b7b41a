/**
 * `meridian keygen --zone NAME [--role csk|ksk|zsk] [--algorithm 13|15]
 * [--directory DIR]`: write a new key pair in BIND's format (the .private
 * file mode 0600, never over an existing file) and print the file names, the
 * DNSKEY and, for a KSK or CSK, the DS records to give the parent zone.
 */
import { parseSigningAlgorithm } from '../dnssec/algorithms.js';
import { DigestType } from '../dnssec/constants.js';
import { dsRdata } from '../dnssec/ds.js';
import { isSep } from '../dnssec/dnskey.js';
import { keygen, type KeyRole } from '../dnssec/keygen.js';
import { formatDnskey, formatDs } from '../dnssec/presentation.js';
import { DnssecKeyError, UsageError } from '../errors.js';

export interface KeygenCommandOptions {
  zone: string;
  role: string;
  algorithm: string;
  directory: string;
  ttl?: number;
}

const ROLES: readonly KeyRole[] = ['csk', 'ksk', 'zsk'];

export function keygenCommand(
  o: KeygenCommandOptions,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): number {
  const role = o.role.toLowerCase() as KeyRole;
  if (!ROLES.includes(role)) throw new UsageError(`--role must be csk, ksk or zsk, not '${o.role}'`);
  const algorithm = parseSigningAlgorithm(o.algorithm);
  if (algorithm === undefined)
    throw new UsageError(`--algorithm must be 13 (ECDSAP256SHA256) or 15 (ED25519), not '${o.algorithm}'`);
  let key: ReturnType<typeof keygen>;
  try {
    key = keygen({ zone: o.zone, role, algorithm, directory: o.directory, ttl: o.ttl });
  } catch (e) {
    if (e instanceof DnssecKeyError) {
      err(`meridian keygen: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const owner = key.zone === '' ? '.' : `${key.zone}.`;
  out(`${key.keyFile}`);
  out(`${key.privateFile} (mode 0600)`);
  out(`${owner} IN DNSKEY ${formatDnskey(key.dnskey)}`);
  if (isSep(key.flags)) {
    for (const digest of [DigestType.SHA256])
      out(`${owner} IN DS ${formatDs(dsRdata(key.zoneWire, key.dnskey, digest))}`);
    out('give the DS record to the parent zone once the DNSKEY is published (docs/dnssec.md)');
  }
  return 0;
}
