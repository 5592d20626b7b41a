/**
 * The `fleet:` config section (issue 14) as a zod schema fragment, strict and
 * with defaults; the main schema takes it as an optional key: without a
 * `fleet:` section Meridian runs alone, exactly as before. The fleet itself
 * lives in src/plane/fleet/; field reference with examples: docs/fleet.md.
 */
import { z } from 'zod';
import { duration } from './duration.js';

/** A NATS server: nats://HOST:PORT, tls://HOST:PORT or HOST:PORT (the Node transport speaks no websocket). */
const natsServer = z.string().refine(
  (s) => {
    try {
      const u = new URL(s.includes('://') ? s : `nats://${s}`);
      return (
        (u.protocol === 'nats:' || u.protocol === 'tls:') &&
        u.hostname !== '' &&
        (u.pathname === '' || u.pathname === '/')
      );
    } catch {
      return false;
    }
  },
  { error: 'expected a NATS server as nats://HOST:PORT, tls://HOST:PORT or HOST:PORT' },
);

/**
 * How observations of one PoP become the fleet's verdict. Over the fresh
 * observations only: `quorum` = down when a strict majority says down, `any` =
 * down when one says down, `all` = down when every one says down, N = down when
 * at least N say down.
 */
export const verdictRule = z.union([z.enum(['quorum', 'any', 'all']), z.number().int().min(1).max(64)], {
  error: 'expected quorum, any, all or a number of down observations (1-64)',
});
export type VerdictRule = z.output<typeof verdictRule>;

/** KV bucket and instance names become NATS subject tokens: keep them to a safe alphabet. */
const bucketName = z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, 'bucket names are 1-48 of A-Z a-z 0-9 _ -');
const instanceName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    'instance names are 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit',
  );

export const fleetSchema = z.strictObject({
  /** NATS servers to connect to (any one will do; the client also learns the cluster's others). */
  servers: z.array(natsServer).min(1),
  /** TLS to the NATS servers: CA to verify them, and a client certificate when they ask for one. */
  tls: z
    .strictObject({
      ca_file: z.string().optional(),
      cert_file: z.string().optional(),
      key_file: z.string().optional(),
    })
    .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
      error: 'cert_file and key_file go together',
    })
    .optional(),
  /** A NATS credentials file (user JWT + NKey seed, as `nsc` writes it). */
  credentials: z.string().optional(),
  /** Prefix of the JetStream buckets: `<bucket>-live` (KV), `<bucket>-ops` (KV), `<bucket>-config` (object store). */
  bucket: bucketName.default('meridian'),
  /** This instance's name in the fleet; default: server.identity (the host name when "auto" or empty). */
  instance: instanceName.optional(),
  /** The verdict rule: one for every PoP, or a default plus per-PoP rules. */
  verdict: z
    .union([
      verdictRule.transform((rule) => ({ default: rule, pops: {} as Record<string, VerdictRule> })),
      z.strictObject({ default: verdictRule.default('quorum'), pops: z.record(z.string(), verdictRule).default({}) }),
    ])
    .default({ default: 'quorum', pops: {} }),
  /** How many live instances probe each PoP (R); the fleet sends R x PoPs probes, not N x PoPs. */
  probe_replicas: z.number().int().min(1).max(16).default(3),
  /** `follow`: run the config bundle last published with `meridian publish`; `local`: the local file only. */
  config: z.enum(['local', 'follow']).default('local'),
  /** Heartbeat period; an instance silent for 1.5 heartbeats is dead and its PoPs move to others. */
  heartbeat: duration.default(2),
  /** After NATS is lost (or a PoP has no fresh observation), the last fleet verdicts hold this long; then local probing. */
  grace_period: duration.default(15),
  /** Observations older than this many of their prober's probe intervals no longer count. */
  stale_after: z.number().min(1).max(100).default(3),
  /** JetStream replicas of the buckets: 1 on a single server, 3 on a NATS cluster (survives one node down). */
  replicas: z.number().int().min(1).max(5).default(1),
  /** Where followed config bundles are written (one directory per version); default: fleet-state/ beside the config file. */
  state_dir: z.string().optional(),
});
export type FleetConfig = z.output<typeof fleetSchema>;
