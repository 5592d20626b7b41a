/**
 * The process policy for errors nobody caught. A DNS server must not die on
 * one bad path: every known boundary (the query handler, the batched UDP
 * callback, admin requests, reloads) catches its own errors, and what still
 * escapes lands here: logged with its stack, counted
 * (meridian_uncaught_errors_total), and the process keeps serving. An error
 * that repeats quickly (more than MAX_BURST within BURST_WINDOW_MS) means the
 * process is no longer in a state we understand: it exits with code 70, and
 * the cluster primary (or systemd/Docker) starts a fresh one.
 */
import type { Logger } from 'pino';

const counts = { exception: 0, rejection: 0 };
const MAX_BURST = 10;
const BURST_WINDOW_MS = 60_000;
/** Exit code for "internal software error" (sysexits.h EX_SOFTWARE). */
const EX_SOFTWARE = 70;

/** Errors caught by the policy in this process so far. */
export function uncaughtCounts(): { exception: number; rejection: number } {
  return { ...counts };
}

let installed = false;

/** Install the policy once per process (serve, cluster workers, the one-process server). */
export function installProcessGuard(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  if (installed) return;
  installed = true;
  const recent: number[] = [];
  const caught = (kind: 'exception' | 'rejection', err: unknown, origin: string) => {
    counts[kind]++;
    const now = Date.now();
    recent.push(now);
    while (recent.length > 0 && recent[0] < now - BURST_WINDOW_MS) recent.shift();
    const e = err instanceof Error ? err : new Error(String(err));
    if (recent.length > MAX_BURST) {
      log.fatal(
        { err: e, origin, inLastMinute: recent.length },
        `${kind}s keep escaping (${recent.length} in a minute): exiting so a fresh process takes over`,
      );
      log.flush?.();
      exit(EX_SOFTWARE);
      return;
    }
    log.error({ err: e, origin }, `uncaught ${kind}: logged and counted; still serving`);
  };
  process.on('uncaughtException', (err, origin) => caught('exception', err, origin));
  process.on('unhandledRejection', (reason) => caught('rejection', reason, 'unhandledRejection'));
}
