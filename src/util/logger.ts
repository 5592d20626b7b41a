/**
 * The root pino logger: JSON lines to stdout, pretty-printed (pino-pretty)
 * when asked (--log-format, MERIDIAN_LOG_FORMAT) or else when stdout is a
 * terminal; never per query at info level. Components take
 * a child logger with a `component` field.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Force pretty output on or off (default: stdout is a TTY). */
  pretty?: boolean;
  /** Write to this destination instead of stdout (tests). */
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.MERIDIAN_LOG_LEVEL ?? 'info';
  const base = { name: 'meridian' };
  if (opts.destination) return pino({ level, base }, opts.destination);
  const fromEnv = process.env.MERIDIAN_LOG_FORMAT;
  const pretty =
    opts.pretty ?? (fromEnv === 'pretty' ? true : fromEnv === 'json' ? false : process.stdout.isTTY === true);
  if (pretty) {
    return pino({
      level,
      base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } },
    });
  }
  return pino({ level, base }, pino.destination({ dest: 1, sync: false }));
}

/**
 * Apply the config's `logging.level` unless the command line (`--log-level`,
 * given as `explicit`) or MERIDIAN_LOG_LEVEL chose the level. Called once a
 * config is loaded, before the components take their child loggers.
 */
export function applyConfiguredLevel(log: Logger, configLevel: string, explicit: string | undefined): void {
  if (explicit === undefined && process.env.MERIDIAN_LOG_LEVEL === undefined) log.level = configLevel;
}

/** A logger that discards everything (library use, tests that do not assert logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
