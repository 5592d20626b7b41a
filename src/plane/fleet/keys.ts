/**
 * The fleet's data layout in JetStream, and the codecs of its values. Two KV
 * buckets and one object store per fleet (prefix = `fleet.bucket`):
 *
 *   <bucket>-live   KV, max_age: heartbeats and observations, which must vanish
 *                   when their writer does (nats-server 2.9 has no per-key TTL)
 *     members.<instance>          Heartbeat
 *     obs.<pop>.<instance>        Observation (the prober's debounced up/down)
 *   <bucket>-ops    KV, no expiry, a short history: operator intent
 *     override.<pop>              FleetOverride (deleted = cleared)
 *     config                      BundlePointer (the current config version)
 *   <bucket>-config object store: bundle-<version>, the config bundles
 *
 * Values are JSON. Everything read from the bucket is validated: a value that
 * does not decode is ignored (and counted), never trusted.
 */
import { z } from 'zod';

export const liveBucket = (prefix: string): string => `${prefix}-live`;
export const opsBucket = (prefix: string): string => `${prefix}-ops`;
export const configStore = (prefix: string): string => `${prefix}-config`;
export const bundleObject = (version: number): string => `bundle-${version}`;

/**
 * Instance names may hold characters a subject token cannot ('.' splits
 * tokens): keep A-Z a-z 0-9 '-' and write anything else as _XX (hex), so the
 * key stays readable in `nats kv ls` and decodes back exactly.
 */
export function escapeToken(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const safe =
      (byte >= 0x30 && byte <= 0x39) ||
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      byte === 0x2d;
    out += safe ? String.fromCharCode(byte) : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function unescapeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const hex = token[i] === '_' ? token.slice(i + 1, i + 3) : '';
    if (/^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes).toString('utf8');
}

export const memberKey = (instance: string): string => `members.${escapeToken(instance)}`;
export const observationKey = (pop: string, instance: string): string =>
  `obs.${escapeToken(pop)}.${escapeToken(instance)}`;
export const overrideKey = (pop: string): string => `override.${escapeToken(pop)}`;
export const CONFIG_KEY = 'config';

/** What a key of either bucket names, or null for a key that is not ours. */
export type ParsedKey =
  | { kind: 'member'; instance: string }
  | { kind: 'observation'; pop: string; instance: string }
  | { kind: 'override'; pop: string }
  | { kind: 'config' };

export function parseKey(key: string): ParsedKey | null {
  const parts = key.split('.');
  if (parts[0] === 'members' && parts.length === 2) return { kind: 'member', instance: unescapeToken(parts[1]) };
  if (parts[0] === 'obs' && parts.length === 3)
    return { kind: 'observation', pop: unescapeToken(parts[1]), instance: unescapeToken(parts[2]) };
  if (parts[0] === 'override' && parts.length === 2) return { kind: 'override', pop: unescapeToken(parts[1]) };
  if (key === CONFIG_KEY) return { kind: 'config' };
  return null;
}

/** A heartbeat: who is alive, what it runs. `at` is the writer's clock (shown only; ages use the server's). */
export const heartbeatValue = z.object({
  instance: z.string().min(1),
  /** Heartbeat period in seconds: the member is dead after 1.5 of its own periods without one. */
  interval: z.number().positive(),
  started_at: z.number(),
  at: z.number(),
  /** The config version it runs (null: a local config, not a published bundle). */
  config_version: z.number().int().nullable(),
  /** sha256 of the running config file, to see at a glance who runs what. */
  config_sha256: z.string().nullable(),
  /** Why the last published version it was given does not run here (it keeps its last good one). */
  config_error: z.string().nullable(),
  software: z.string(),
});
export type HeartbeatValue = z.output<typeof heartbeatValue>;

/** One prober's view of one PoP after rise/fall debouncing. */
export const observationValue = z.object({
  instance: z.string().min(1),
  pop: z.string().min(1),
  up: z.boolean(),
  /** Why the last probe failed (timeout, refused, status 503, ...), null after a success. */
  reason: z.string().nullable(),
  /** RTT of the last probe in milliseconds (null when it did not complete). */
  rtt_ms: z.number().nonnegative().nullable(),
  /** The prober's probe interval for this PoP, in seconds: freshness is counted in it. */
  interval: z.number().positive(),
  at: z.number(),
});
export type ObservationValue = z.output<typeof observationValue>;

export const overrideValue = z.object({
  override: z.enum(['force-up', 'force-down', 'drain']),
  /** The instance (and API client) that set it. */
  by: z.string(),
  at: z.number(),
});
export type OverrideValue = z.output<typeof overrideValue>;

export const bundlePointerValue = z.object({
  version: z.number().int().positive(),
  object: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  published_at: z.number(),
  published_by: z.string(),
});
export type BundlePointer = z.output<typeof bundlePointerValue>;

/** Decode a JSON value with `schema`; null when it is not JSON or does not match. */
export function decodeValue<T>(schema: z.ZodType<T>, bytes: Uint8Array): T | null {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  const r = schema.safeParse(json);
  return r.success ? r.data : null;
}

export function encodeValue(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
