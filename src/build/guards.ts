/**
 * The flood protections of a config as the snapshot carries them: the
 * `rrl:` section turned into the limiter's settings (exempt prefixes parsed),
 * and the `cookies:` section with its secrets read (from the file or the
 * environment) and checked. Plain data: it travels to cluster workers with
 * the snapshot; each process builds its limiter and cookie checker from it
 * (plane/guards.ts). Problems are reported at the key that holds them, and
 * a secret is never echoed in a message.
 */
import { cookieSecretFromHex } from '../cookie/secret.js';
import { parsePrefix } from '../net/ip.js';
import type { AddressPrefix } from '../rrl/prefix-set.js';
import type { RrlSettings } from '../rrl/settings.js';
import type { Report } from './config/load.js';
import type { CookiesConfig, MeridianConfig, RrlConfig } from './config/schema.js';

export interface CookieSettings {
  require: boolean;
  /** The configured secret, or null: none configured (the process tree draws one, plane/guards.ts). */
  secret: Uint8Array | null;
  previousSecret: Uint8Array | null;
}

export interface GuardSettings {
  /** Response rate limiting, or null when `rrl.enabled` is false. */
  rrl: RrlSettings | null;
  /** Server cookies, or null when `cookies.enabled` is false (the COOKIE option is then ignored). */
  cookies: CookieSettings | null;
}

export function resolveGuards(config: MeridianConfig, report: Report, env = process.env): GuardSettings {
  return {
    rrl: config.rrl.enabled ? rrlSettings(config.rrl, report) : null,
    cookies: config.cookies.enabled ? cookieSettings(config.cookies, report, env) : null,
  };
}

function rrlSettings(c: RrlConfig, report: Report): RrlSettings {
  const exempt: AddressPrefix[] = [];
  c.exempt.forEach((text, i) => {
    try {
      exempt.push(parsePrefix(text));
    } catch (err) {
      report(['rrl', 'exempt', i], (err as Error).message);
    }
  });
  return {
    responsesPerSecond: c.responses_per_second,
    nodataPerSecond: c.nodata_per_second,
    nxdomainsPerSecond: c.nxdomains_per_second,
    referralsPerSecond: c.referrals_per_second,
    errorsPerSecond: c.errors_per_second,
    windowSeconds: c.window,
    slip: c.slip,
    ipv4PrefixLength: c.ipv4_prefix_length,
    ipv6PrefixLength: c.ipv6_prefix_length,
    exempt,
    logOnly: c.log_only,
    tableSize: c.table_size,
  };
}

function cookieSettings(c: CookiesConfig, report: Report, env: NodeJS.ProcessEnv): CookieSettings {
  const secret = readSecret(c.secret, c.secret_env, 'secret', report, env);
  const previousSecret = readSecret(c.previous_secret, c.previous_secret_env, 'previous_secret', report, env);
  if (previousSecret !== null && secret === null)
    report(['cookies', 'previous_secret'], 'a previous secret needs a current one (cookies.secret or secret_env)');
  return { require: c.require, secret, previousSecret };
}

/** A secret from the file or from the variable `envName`; null when neither is set. */
function readSecret(
  text: string | undefined,
  envName: string | undefined,
  key: 'secret' | 'previous_secret',
  report: Report,
  env: NodeJS.ProcessEnv,
): Uint8Array | null {
  if (text !== undefined && envName !== undefined) {
    report(['cookies', `${key}_env`], `give ${key} or ${key}_env, not both`);
    return null;
  }
  const value = envName !== undefined ? env[envName] : text;
  if (envName !== undefined && (value === undefined || value === '')) {
    report(['cookies', `${key}_env`], `names ${envName}, which is not set in Meridian's environment`);
    return null;
  }
  if (value === undefined) return null;
  try {
    return cookieSecretFromHex(value);
  } catch (err) {
    const where = envName !== undefined ? `$${envName}: ` : '';
    report(['cookies', envName !== undefined ? `${key}_env` : key], `${where}${(err as Error).message}`);
    return null;
  }
}
