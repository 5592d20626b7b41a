/**
 * The error catalogue. Every error Meridian raises on purpose is a MeridianError
 * with a stable `code` (MERIDIAN_ERR_*) so logs, metrics and tests can match on it.
 * Errors never cross into the wire layer: the query path maps failures to rcodes.
 */

export abstract class MeridianError extends Error {
  abstract readonly code: string;
}

/** Where in a source file something went wrong (1-based line and column). */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** One problem found in a config file: `file:line:column: path: message`. */
export interface ConfigIssue extends SourcePosition {
  /** Dotted path of the offending field, e.g. `zones[0].geo.cdn.policy`. */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** The config (YAML, schema or cross-reference checks) is invalid. Carries every issue found. */
export class ConfigError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_CONFIG';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

/** An RFC 1035 master file (zone file) could not be parsed. */
export class ZoneFileError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_ZONE_FILE';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'ZoneFileError';
  }
}

/** A geo database could not be opened, is corrupt, or has a schema we cannot use. */
export class GeoDatabaseError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_GEO_DB';
  constructor(
    readonly file: string,
    readonly detail: string,
    /** Byte offset in the file where the problem is, when known. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? `${file}: ${detail}` : `${file}: at byte ${offset}: ${detail}`);
    this.name = 'GeoDatabaseError';
  }
}

/** A latency table file could not be parsed. */
export class LatencyTableError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_LATENCY_TABLE';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'LatencyTableError';
  }
}

/** Bad command-line usage. */
export class UsageError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A listener could not be bound. */
export class ListenError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_LISTEN';
  constructor(
    readonly address: string,
    override readonly cause: unknown,
  ) {
    super(`cannot listen on ${address}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ListenError';
  }
}

/** The admin API refused a request (bad token, unknown PoP, read-only). */
export class AdminError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_ADMIN';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/**
 * A DNSSEC key file (BIND `K<zone>+<alg>+<tag>.key` / `.private`) could not be
 * used: unreadable, malformed, an unsupported algorithm, a private key that
 * does not match its public key, or a private key file other users can read.
 */
export class DnssecKeyError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_DNSSEC_KEY';
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'DnssecKeyError';
  }
}

/** A reload's compile ran over its time or memory bound (the reload watchdog) and was terminated. */
export class ReloadBoundError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_RELOAD_BOUND';
  constructor(
    readonly bound: 'time' | 'memory',
    readonly limit: number,
    readonly elapsedMs: number,
    readonly peakBytes: number,
  ) {
    super(
      bound === 'time'
        ? `compile terminated: still running after ${(limit / 1000).toFixed(1)} s (reload.timeout); the running configuration keeps serving`
        : `compile terminated: it grew the process by ${Math.round(peakBytes / 1048576)} MB, over the ${Math.round(limit / 1048576)} MB bound (reload.memory_limit), after ${(elapsedMs / 1000).toFixed(1)} s; the running configuration keeps serving`,
    );
    this.name = 'ReloadBoundError';
  }
}

/** The fleet (NATS) refused or could not do something: not connected, a lost publish race, a bucket error. */
export class FleetError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_FLEET';
  constructor(message: string) {
    super(message);
    this.name = 'FleetError';
  }
}

/** A published config bundle cannot run on this host (damaged, or a geo database missing or different here). */
export class FleetBundleError extends MeridianError {
  readonly code = 'MERIDIAN_ERR_FLEET_BUNDLE';
  constructor(
    readonly version: number,
    readonly problems: string[],
  ) {
    super(`config bundle v${version}: ${problems.join('; ')}`);
    this.name = 'FleetBundleError';
  }
}

/** Every stable error code, for the documentation convention test. */
export const ERROR_CODES = [
  'MERIDIAN_ERR_CONFIG',
  'MERIDIAN_ERR_ZONE_FILE',
  'MERIDIAN_ERR_GEO_DB',
  'MERIDIAN_ERR_LATENCY_TABLE',
  'MERIDIAN_ERR_USAGE',
  'MERIDIAN_ERR_LISTEN',
  'MERIDIAN_ERR_ADMIN',
  'MERIDIAN_ERR_DNSSEC_KEY',
  'MERIDIAN_ERR_RELOAD_BOUND',
  'MERIDIAN_ERR_FLEET',
  'MERIDIAN_ERR_FLEET_BUNDLE',
] as const;
