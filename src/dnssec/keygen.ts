/**
 * `meridian keygen` as a library function: a new key pair for a zone,
 * written as BIND key files (what dnssec-keygen writes), with the timing
 * metadata a rollover needs. A new key whose tag collides with a key file
 * already in the directory is thrown away and generated again, as
 * dnssec-keygen does.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveName } from '../zone/names.js';
import { algorithmSpec, ECDSAP256SHA256 } from './algorithms.js';
import { keyFileBase } from './bind-key-text.js';
import { KSK_FLAGS, ZSK_FLAGS } from './constants.js';
import { generateKeyMaterial } from './crypto-keys.js';
import { dnskeyRdata } from './dnskey.js';
import { writeKeyPair, type ZoneKey } from './key-files.js';
import { keyTag } from './key-tag.js';
import type { KeyTiming } from './key-timing.js';

/** zsk: flags 256, signs the zone's data; ksk and csk: flags 257 (SEP), the key the DS names (a CSK also signs the data). */
export type KeyRole = 'zsk' | 'ksk' | 'csk';

export interface KeygenOptions {
  /** Zone name, presentation form (`example.net` or `example.net.`). */
  zone: string;
  role: KeyRole;
  /** 13 (ECDSAP256SHA256, the default) or 15 (ED25519). */
  algorithm?: number;
  directory: string;
  /** DNSKEY TTL to write into the .key file (dnssec-keygen -L). */
  ttl?: number;
  /** Dates to write; the default is Created, Publish and Activate all `now`, as dnssec-keygen's. */
  timing?: KeyTiming;
  /** Seconds since the epoch; the clock by default. */
  now?: number;
}

const MAX_TRIES = 16;

/** Generate a key pair and write it; returns the key as {@link loadKeyPair} would load it. */
export function keygen(options: KeygenOptions): ZoneKey {
  const algorithm = options.algorithm ?? ECDSAP256SHA256;
  if (!algorithmSpec(algorithm)?.signs)
    throw new Error(`cannot generate keys for algorithm ${algorithm}: use 13 (ECDSAP256SHA256) or 15 (ED25519)`);
  const zone = resolveName(options.zone.endsWith('.') ? options.zone : `${options.zone}.`, '');
  const flags = options.role === 'zsk' ? ZSK_FLAGS : KSK_FLAGS;
  const now = Math.floor(options.now ?? Date.now() / 1000);
  const timing = options.timing ?? { Created: now, Publish: now, Activate: now };
  for (let i = 0; i < MAX_TRIES; i++) {
    const material = generateKeyMaterial(algorithm);
    const tag = keyTag(dnskeyRdata(flags, algorithm, material.publicKeyBytes));
    const base = path.join(options.directory, keyFileBase(zone, algorithm, tag));
    if (existsSync(`${base}.key`) || existsSync(`${base}.private`)) continue; // tag collision with a key we keep
    return writeKeyPair(options.directory, {
      zone,
      flags,
      material,
      timing: { Created: now, ...timing },
      ttl: options.ttl,
    });
  }
  throw new Error(`could not find a free key tag in ${options.directory} after ${MAX_TRIES} tries`);
}
