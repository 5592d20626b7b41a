/**
 * The config schema: strict (unknown keys are errors), with defaults, in zod.
 * Cross-references (PoP ids in rules, policy names, CIDRs, addresses) are
 * checked afterwards, when the snapshot is built with the whole picture
 * (build/pops.ts, policy/rules.ts, zone/build.ts, build/snapshot.ts).
 * Field reference with examples: docs/config.md.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { didYouMean } from '../../util/did-you-mean.js';
import { recordTypeOf, TYPE_MNEMONICS } from '../../zone/types.js';
import { duration } from './duration.js';
import { fleetSchema } from './fleet.js';

export { duration };

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(MB|MiB|GB|GiB)$/;
const UNIT_BYTES: Record<string, number> = { MB: 1e6, MiB: 1048576, GB: 1e9, GiB: 1073741824 };

/** A memory size in bytes: a number of MiB, or a string such as "512MB", "2GiB". */
export const size = z.union(
  [
    z
      .number()
      .positive()
      .transform((mib) => mib * 1048576),
    z
      .string()
      .regex(SIZE_RE)
      .transform((s) => {
        const m = SIZE_RE.exec(s)!;
        return Number(m[1]) * UNIT_BYTES[m[2]];
      }),
  ],
  { error: 'expected a size: MiB, or a string like 512MB or 2GiB' },
);

/** A share in percent: a number 0-100 or a string such as "5%". */
const percent = z
  .union([
    z.number().min(0).max(100),
    z
      .string()
      .regex(/^\d+(\.\d+)?%$/)
      .transform((s) => Number(s.slice(0, -1))),
  ])
  .pipe(z.number().min(0).max(100));

const ttl = z.number().int().min(0).max(2147483647);
const port = z.number().int().min(1).max(65535);
const popId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'PoP ids are 1-32 of a-z 0-9 _ - (lower case), starting with a letter or digit');
const popList = z.array(z.string()).min(1);

/**
 * One health check as written, in `health.defaults` or in `pops.<id>.health`:
 * every field optional and without a default, so an object carries only what
 * the operator wrote. The effective check is merged field by field (PoP >
 * health.defaults > HEALTH_DEFAULTS below) in build/pops.ts. A zod `.default()`
 * here would make every partial override reset the other fields (issue 10).
 */
const healthCheck = z.strictObject({
  type: z.enum(['http', 'https', 'tcp', 'none']).optional(),
  /** Address to probe; default: the PoP's first IPv4 address (else IPv6). */
  target: z.string().optional(),
  port: port.optional(),
  path: z.string().startsWith('/').optional(),
  method: z.enum(['GET', 'HEAD']).optional(),
  host: z.string().optional(),
  expect_status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  expect_body: z.string().optional(),
  tls_verify: z.boolean().optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  rise: z.number().int().min(1).max(100).optional(),
  fall: z.number().int().min(1).max(100).optional(),
  initial: z.enum(['up', 'down']).optional(),
  /** Fraction of the interval by which each probe is randomly shifted. */
  jitter: z.number().min(0).max(0.5).optional(),
});
/** A health check as written (only the fields the operator gave). */
export type HealthCheckFields = z.output<typeof healthCheck>;
/** Fields that have no built-in default (target: the PoP's address; port: by type; host: the target; expect_body: none). */
type UndefaultedHealthField = 'target' | 'port' | 'host' | 'expect_body';
/** The effective check of one PoP: every field with a built-in default is set. */
export type HealthCheckConfig = Required<Omit<HealthCheckFields, UndefaultedHealthField>> &
  Pick<HealthCheckFields, UndefaultedHealthField>;

/** Built-in values of the health-check fields (docs/config.md#health lists them). */
export const HEALTH_DEFAULTS: HealthCheckConfig = {
  type: 'none',
  path: '/',
  method: 'GET',
  expect_status: [200],
  tls_verify: true,
  interval: 5,
  timeout: 2,
  rise: 2,
  fall: 3,
  initial: 'up',
  jitter: 0.1,
};

/**
 * The effective check: each field from the first layer that sets it (PoP,
 * then health.defaults, then HEALTH_DEFAULTS).
 */
export function mergeHealth(...layers: ReadonlyArray<HealthCheckFields | undefined>): HealthCheckConfig {
  const out: Record<string, unknown> = { ...HEALTH_DEFAULTS };
  for (let i = layers.length - 1; i >= 0; i--) {
    for (const [k, v] of Object.entries(layers[i] ?? {})) if (v !== undefined) out[k] = v;
  }
  return out as HealthCheckConfig;
}

const location = z.union(
  [
    z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }),
    z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180)]).transform(([lat, lon]) => ({ lat, lon })),
  ],
  { error: 'expected [lat, lon] or { lat, lon } (degrees, lat -90..90, lon -180..180)' },
);

const pop = z.strictObject({
  location,
  ipv4: z.array(z.string()).default([]),
  ipv6: z.array(z.string()).default([]),
  weight: z.number().positive().default(1),
  /** Share (0-100) of this PoP's first-choice clients moved to their next candidate. */
  spill: z.number().min(0).max(100).default(0),
  health: healthCheck.optional(),
  description: z.string().optional(),
});
export type PopConfig = z.output<typeof pop>;

const step = z.union([
  z.strictObject({ cidr: z.record(z.string(), popList) }),
  z.strictObject({ asn: z.record(z.string(), popList) }),
  z.strictObject({ subdivision: z.record(z.string(), popList) }),
  z.strictObject({ country: z.record(z.string(), popList) }),
  z.strictObject({ continent: z.record(z.string(), popList) }),
  z.strictObject({ nearest: z.strictObject({ pops: popList.optional() }).nullable() }),
  z.strictObject({
    latency: z
      .strictObject({
        pops: popList.optional(),
        tolerance_ms: z.number().min(0).default(0),
        tolerance_pct: z.number().min(0).max(100).default(0),
      })
      .nullable(),
  }),
]);
export type StepConfig = z.output<typeof step>;

const policy = z.strictObject({
  /** How many ranked PoPs a decision keeps (gdnsd's auto_dc_limit). */
  candidates: z.number().int().min(1).max(16).default(3),
  steps: z.array(step).min(1),
  /** Ranking for clients no step can place; default: every PoP in config order. */
  fallback: popList.optional(),
  /** IPv4 / IPv6 prefix length at which spill is decided (the spill hash unit). */
  spill_granularity_v4: z.number().int().min(8).max(32).default(20),
  spill_granularity_v6: z.number().int().min(16).max(64).default(40),
});
export type PolicyConfig = z.output<typeof policy>;

const rrsetValues = z.union([
  z.array(z.string()).min(1),
  z.string(),
  z.strictObject({ ttl: ttl.optional(), values: z.union([z.array(z.string()).min(1), z.string()]) }),
]);
/** A record type key: a mnemonic Meridian knows, or TYPEnnn (RFC 3597). */
const recordTypeKey = z.string().superRefine((key, ctx) => {
  try {
    recordTypeOf(key);
  } catch (err) {
    const message = (err as Error).message;
    ctx.addIssue({
      code: 'custom',
      message: message.startsWith('unknown record type')
        ? `${message}${didYouMean(key, TYPE_MNEMONICS)} (known: ${TYPE_MNEMONICS.join(', ')}, or TYPEnnn)`
        : message,
    });
  }
});
const nodeRecords = z.record(recordTypeKey, rrsetValues);

const geoRecord = z.strictObject({
  policy: z.string(),
  ttl: ttl.default(30),
  /** TTL while the preferred PoP is down or drained, so clients come back quickly. */
  ttl_degraded: ttl.default(10),
  /** How many PoPs' addresses one answer carries. */
  max_answers: z.number().int().min(1).max(8).default(1),
  types: z
    .array(z.enum(['A', 'AAAA']))
    .min(1)
    .default(['A', 'AAAA']),
  /**
   * ECS scopes: of the answer given now (widest sound prefix under the current
   * health), or of the whole failover ranking (narrower, the same in every
   * health state, as gdnsd and Meridian before 15 drew them).
   */
  scopes: z.enum(['current', 'full_ranking']).default('current'),
});
export type GeoRecordConfig = z.output<typeof geoRecord>;

const soa = z.strictObject({
  mname: z.string(),
  rname: z.string(),
  serial: z.number().int().min(0).max(4294967295),
  refresh: ttl.default(7200),
  retry: ttl.default(3600),
  expire: ttl.default(1209600),
  minimum: ttl.default(300),
  ttl: ttl.optional(),
});

/** Signature validity (src/dnssec/validity.ts); the defaults are Knot's. */
const dnssecValidity = z.strictObject({
  /** From signing to expiration, before jitter. */
  lifetime: duration.default(14 * 86400),
  /** Re-sign this long before expiration (more than the largest TTL signed). */
  refresh: duration.default(7 * 86400),
  /** Inception this far in the past, for validators whose clocks run behind. */
  inception_offset: duration.default(3600),
  /** Expirations spread over this much below the lifetime, so they do not come due together. */
  jitter: duration.default(86400),
});

/** Online signing of a zone (docs/dnssec.md). */
const dnssec = z.strictObject({
  /**
   * BIND key pairs (K<zone>+<alg>+<tag>, with or without .key/.private) or
   * directories holding them (every pair of this zone in it), relative to
   * this config file. Role (CSK, KSK, ZSK), algorithm and timing come from the files.
   */
  keys: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])),
  validity: dnssecValidity.prefault({}),
  /** Per process: signed denials and wildcard expansions kept (names asked that do not exist). */
  denial_cache_size: z.number().int().min(1).max(10_000_000).default(10_000),
  /** Per process: signatures of geo answer sets kept (one per distinct set of addresses). */
  geo_cache_size: z.number().int().min(1).max(10_000_000).default(10_000),
  /** Per process: names signed per second over UDP (denials, wildcard expansions); past it TC=1. 0 = no limit. */
  signing_budget: z.number().int().min(0).default(5_000),
});
export type DnssecConfig = z.output<typeof dnssec>;

const zone = z.strictObject({
  origin: z.string().min(1),
  /** Default TTL of static records. */
  ttl: ttl.default(3600),
  /** An RFC 1035 master file with the zone's static data (relative to this config file). */
  file: z.string().optional(),
  soa: soa.optional(),
  ns: z.array(z.string()).min(1).optional(),
  records: z.record(z.string(), nodeRecords).default({}),
  geo: z.record(z.string(), geoRecord).default({}),
  /** Sign the zone's answers online (absent = unsigned, answers exactly as without DNSSEC). */
  dnssec: dnssec.optional(),
});
export type ZoneConfig = z.output<typeof zone>;

const listen = z.string();

/** A per-second limit of response rate limiting (0 = that class is not limited). */
const perSecond = z.number().int().min(0).max(1_000_000);
/** A cookie secret: 32 hex digits (16 bytes, RFC 9018 5). The message never echoes the value. */
const cookieSecret = z.string().regex(/^\s*[0-9a-fA-F]{32}\s*$/, 'a cookie secret is 32 hex digits (16 bytes)');

/**
 * Response rate limiting (BIND's `rate-limit`, rrl/): UDP responses per second
 * per (client network, response class). docs/config.md#rrl gives the reason
 * for each default (on, as NSD ships it; loopback exempt).
 */
const rrl = z.strictObject({
  enabled: z.boolean().default(true),
  responses_per_second: perSecond.default(200),
  nodata_per_second: perSecond.optional(),
  nxdomains_per_second: perSecond.optional(),
  referrals_per_second: perSecond.optional(),
  errors_per_second: perSecond.optional(),
  /** Seconds of debt a bucket can run up: a flood that stops stays limited this long. */
  window: duration.pipe(z.number().int('window is whole seconds').min(1).max(3600)).default(15),
  /** Every Nth limited response is sent truncated (TC=1) instead of dropped; 0 never, 1 always. */
  slip: z.number().int().min(0).max(10).default(2),
  ipv4_prefix_length: z.number().int().min(0).max(32).default(24),
  ipv6_prefix_length: z.number().int().min(0).max(128).default(56),
  /** Sources never limited (CIDR). A spoofed loopback source cannot arrive from the network. */
  exempt: z.array(z.string()).default(['127.0.0.0/8', '::1/128']),
  /** Decide and count, never enforce. */
  log_only: z.boolean().default(false),
  /** Buckets in the table (rounded up to a power of two): the memory, whatever the number of sources. */
  table_size: z
    .number()
    .int()
    .min(1024)
    .max(1 << 24)
    .default(131072),
});
export type RrlConfig = z.output<typeof rrl>;

/** DNS Cookies (RFC 7873) with RFC 9018 server cookies (cookie/). */
const cookies = z.strictObject({
  enabled: z.boolean().default(true),
  /** BADCOOKIE to UDP queries from cookie-aware clients without a valid server cookie. */
  require: z.boolean().default(false),
  secret: cookieSecret.optional(),
  secret_env: z.string().min(1).optional(),
  /** A second secret still accepted (rotation, RFC 9018 5). */
  previous_secret: cookieSecret.optional(),
  previous_secret_env: z.string().min(1).optional(),
});
export type CookiesConfig = z.output<typeof cookies>;

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      listen: z.array(listen).min(1).default(['127.0.0.1:5300', '[::1]:5300']),
      /** This instance's name (logs, fleet): "auto" = host name, anything else verbatim. */
      identity: z.string().default('auto'),
      /**
       * What NSID (RFC 5001) and CHAOS id.server / hostname.bind answer (BIND's server-id):
       * "none" = nothing, "identity" = server.identity, "hostname" = the host name, else verbatim.
       */
      server_id: z.string().default('none'),
      udp_max_payload: z.number().int().min(512).max(65535).default(1232),
      tcp: z
        .strictObject({
          idle_timeout: duration.default(10),
          /** Idle timeout once the connection table is `pressure_threshold` full (RFC 7766 6.2.3). */
          idle_timeout_under_pressure: duration.default(2),
          pressure_threshold: percent.default(75),
          max_connections: z.number().int().min(1).default(512),
          max_connections_per_address: z.number().int().min(1).default(32),
          max_connections_per_prefix: z.number().int().min(1).default(128),
          ipv4_prefix_length: z.number().int().min(0).max(32).default(24),
          ipv6_prefix_length: z.number().int().min(0).max(128).default(56),
          max_connection_lifetime: duration.pipe(z.number().positive()).default(120),
          max_message_size: z.number().int().min(512).max(65535).default(65535),
          max_queries_per_connection: z.number().int().min(1).default(1000),
        })
        .prefault({}),
      workers: z.union([z.literal('auto'), z.number().int().min(0).max(256)]).default('auto'),
    })
    .prefault({}),
  admin: z
    .strictObject({
      listen: z.string().default('127.0.0.1:9153'),
      /** Bearer token for write calls; token_env names an environment variable holding it. */
      token: z.string().min(16).optional(),
      token_env: z.string().optional(),
      /** gdnsd-style admin_state file: lines "<pop> DRAIN|UP|DOWN". */
      state_file: z.string().optional(),
    })
    .prefault({}),
  logging: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      /** Log one query in N at info level (0 = off); client addresses truncated to /24 and /56. */
      query_sample: z.number().int().min(0).default(0),
    })
    .prefault({}),
  geo: z
    .strictObject({
      /** City/country databases (GeoIP2, GeoLite2, DB-IP flat), searched in order per address family. */
      databases: z.array(z.string()).default([]),
      /** GeoLite2-ASN style database for asn rules. */
      asn_database: z.string().optional(),
      /** RTT table (CSV or JSON) for the latency step. */
      latency_table: z.string().optional(),
      /** Modelled RTT: path inflation over the great-circle fibre distance. */
      path_inflation: z.number().min(1).max(5).default(1.5),
    })
    .prefault({}),
  health: z
    .strictObject({
      defaults: healthCheck.default({}),
      max_in_flight: z.number().int().min(1).default(64),
      /** Local address probes are sent from (multi-homed hosts; a fleet's tests give each instance its own). */
      source_address: z
        .string()
        .refine((a) => isIP(a) !== 0, { error: 'expected an IPv4 or IPv6 address of this host' })
        .optional(),
    })
    .prefault({}),
  reload: z
    .strictObject({
      /** Watchdog: a compile running longer is terminated. auto = max(60 s, 10 x the last successful compile). */
      timeout: z.union([z.literal('auto'), duration.pipe(z.number().positive())]).default('auto'),
      /** Watchdog: a compile growing the process by more is terminated. auto = max(1 GiB, 4 x the last compile's growth). */
      memory_limit: z.union([z.literal('auto'), size]).default('auto'),
      /** Hold a new database or policy whose decisions move more than max_change of the sample. */
      change_guard: z
        .strictObject({
          enabled: z.boolean().default(true),
          max_change: percent.default(5),
          sample: z.number().int().min(100).max(1_000_000).default(10_000),
          examples: z.number().int().min(0).max(100).default(10),
        })
        .prefault({}),
    })
    .prefault({}),
  rrl: rrl.prefault({}),
  cookies: cookies.prefault({}),
  pops: z.record(popId, pop).default({}),
  policies: z.record(z.string(), policy).default({}),
  zones: z.array(zone).min(1),
  /** Run as a fleet over NATS JetStream (docs/fleet.md); absent = one instance, its own probes. */
  fleet: fleetSchema.optional(),
});

export type MeridianConfig = z.output<typeof configSchema>;
