/**
 * `fleet.config: follow`: run each newly published config version. A new
 * bundle is written to `<state_dir>/v<version>/` (bundle.ts) and handed to
 * `apply`, which is the control plane's existing reload path (compile in the
 * worker, swap on success). On success the version becomes the last good one
 * (recorded in `<state_dir>/current.json`, where a restart starts from) and
 * the heartbeat reports it; on failure (a database missing on this host, a
 * compile error) the running version stays and the heartbeat says why, so
 * /admin/fleet shows who refused what. Versions arriving while one is being
 * applied are coalesced: only the newest is applied next.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { silentLogger } from '../../util/logger.js';
import { materializeBundle, type ConfigBundle } from './bundle.js';
import type { FleetLink } from './link.js';

export interface RunningConfig {
  version: number;
  /** The config file inside the version's directory. */
  file: string;
}

export interface FollowOptions {
  stateDir: string;
  /** Run `configFile` through the reload path; resolve with the running config's sha256, reject with the reason. */
  apply: (configFile: string, bundle: ConfigBundle) => Promise<{ sha256: string }>;
  /** What runs now (from readCurrent at start), so the same version is not applied again. */
  running?: RunningConfig | null;
  log?: Logger;
}

const currentValue = z.object({ version: z.number().int().positive(), file: z.string().min(1) });

/** The last good followed version recorded in `stateDir`, or null (none yet, or unreadable). */
export async function readCurrent(stateDir: string): Promise<RunningConfig | null> {
  try {
    const r = currentValue.safeParse(JSON.parse(await readFile(path.join(stateDir, 'current.json'), 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

async function writeCurrent(stateDir: string, current: RunningConfig): Promise<void> {
  const file = path.join(stateDir, 'current.json');
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(current)}\n`);
  await rename(tmp, file);
}

export class ConfigFollower {
  private running: RunningConfig | null;
  private runningSha: string | null = null;
  private pending: ConfigBundle | null = null;
  private busy = false;
  private readonly log: Logger;
  /** Settles when the follower is idle (tests and shutdown wait on it). */
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly link: FleetLink,
    private readonly opts: FollowOptions,
  ) {
    this.log = opts.log ?? silentLogger();
    this.running = opts.running ?? null;
    link.onBundle((b) => this.offer(b));
  }

  /** The followed version running now (null: the local config). */
  current(): RunningConfig | null {
    return this.running;
  }

  /** Resolves when no version is being applied. */
  settled(): Promise<void> {
    return this.idle;
  }

  /**
   * A followed version that the change guard held was accepted on this host
   * (the control plane applied `file`): it is the running version now.
   * Files outside a version directory of the state directory are not ours.
   */
  async adopt(file: string, sha256: string): Promise<void> {
    const m = /^v(\d+)$/.exec(path.relative(this.opts.stateDir, file).split(path.sep)[0] ?? '');
    if (!m) return;
    const version = Number(m[1]);
    await writeCurrent(this.opts.stateDir, { version, file });
    this.running = { version, file };
    this.runningSha = sha256;
    this.link.setRunningConfig(version, sha256);
    this.log.info({ version, file }, 'fleet: held config version accepted and running');
  }

  private offer(bundle: ConfigBundle): void {
    if (bundle.version === this.running?.version) return;
    this.pending = bundle;
    if (!this.busy) this.idle = this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      for (let b = this.pending; b; b = this.pending) {
        this.pending = null;
        await this.applyOne(b);
      }
    } finally {
      this.busy = false;
    }
  }

  private async applyOne(bundle: ConfigBundle): Promise<void> {
    const { version } = bundle;
    try {
      const file = await materializeBundle(bundle, this.opts.stateDir);
      const { sha256 } = await this.opts.apply(file, bundle);
      await writeCurrent(this.opts.stateDir, { version, file });
      this.running = { version, file };
      this.runningSha = sha256;
      this.link.setRunningConfig(version, sha256);
      this.log.info({ version, file }, 'fleet: published config version running');
    } catch (err) {
      const message = (err as Error).message.split('\n').slice(0, 3).join('; ');
      this.link.setRunningConfig(this.running?.version ?? null, this.runningSha, `v${version}: ${message}`);
      this.log.error(
        { version, running: this.running?.version ?? null, err: message },
        'fleet: published config version refused; the running config keeps serving',
      );
    }
  }
}
