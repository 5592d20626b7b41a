/**
 * Durations in the config language: seconds as a number, or a string such as
 * "500ms", "5s", "2m". Its own module so that schema fragments (fleet.ts)
 * and the main schema can both use it without importing each other.
 */
import { z } from 'zod';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** A duration in seconds: a number, or a string such as "500ms", "5s", "2m". */
export const duration = z.union(
  [
    z.number().nonnegative(),
    z
      .string()
      .regex(DURATION_RE)
      .transform((s) => {
        const m = DURATION_RE.exec(s)!;
        return Number(m[1]) * UNIT_SECONDS[m[2]];
      }),
  ],
  { error: 'expected a duration: seconds, or a string like 500ms, 5s or 2m' },
);
