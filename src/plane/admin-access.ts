/**
 * Whether the admin API may write (drain, force-up/down, reload) and why not:
 * decided from `admin.token` / `admin.token_env` and the environment, once at
 * start and at every reload. A token_env naming an unset variable, or a token
 * shorter than 16 characters, is an operator mistake that would otherwise
 * only show when a PoP has to be drained in an incident: the control plane
 * warns loudly about it, and refuses it outright when the admin listener is
 * not on loopback. Pure: no I/O beyond reading the given environment.
 */
import { isIP } from 'node:net';
import type { MeridianConfig } from '../build/config/schema.js';

/** Shortest bearer token accepted (also the schema's rule for admin.token). */
export const MIN_TOKEN_LENGTH = 16;

export interface AdminAccess {
  /** The bearer token for write calls; null = read-only. */
  token: string | null;
  /** Where the token comes from ("admin.token", "$MERIDIAN_ADMIN_TOKEN"), when there is one. */
  source: string | null;
  /** Why writes are refused (the 403 says this); null when writable. */
  readOnlyReason: string | null;
  /** A configured token that cannot be used (unset variable, too short); null when none. */
  problem: string | null;
}

export function adminAccess(admin: MeridianConfig['admin'], env: NodeJS.ProcessEnv = process.env): AdminAccess {
  if (admin.token) return { token: admin.token, source: 'admin.token', readOnlyReason: null, problem: null };
  if (admin.token_env) {
    const name = admin.token_env;
    const value = env[name];
    if (value === undefined || value === '') {
      const problem = `admin.token_env names ${name}, which is ${value === undefined ? 'not set' : 'empty'} in Meridian's environment`;
      return { token: null, source: null, readOnlyReason: problem, problem };
    }
    if (value.length < MIN_TOKEN_LENGTH) {
      const problem = `the admin token in ${name} is ${value.length} characters long; at least ${MIN_TOKEN_LENGTH} are required`;
      return { token: null, source: null, readOnlyReason: problem, problem };
    }
    return { token: value, source: `$${name}`, readOnlyReason: null, problem: null };
  }
  return {
    token: null,
    source: null,
    readOnlyReason: 'no admin token is configured (admin.token_env or admin.token)',
    problem: null,
  };
}

/** 127.0.0.0/8, ::1, ::ffff:127.x.y.z and "localhost": reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const h = host.toLowerCase();
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // The URL parser canonicalises IPv6 (0:0:0:0:0:0:0:1 -> ::1, ::ffff:127.0.0.1 -> ::ffff:7f00:1).
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::1]' || canonical.startsWith('[::ffff:7f');
}
