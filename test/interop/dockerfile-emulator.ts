/**
 * Run a Dockerfile's steps by hand, without a Docker engine (none runs on
 * the project's machines): each stage gets a scratch directory standing for
 * its WORKDIR, COPY copies from the repository (or from an earlier stage's
 * directory with --from), ENV and ARG become the environment of RUN, and RUN
 * runs under `sh -c` there, so the build's own shell logic (what is built,
 * what is staged, what is said in the log) runs for real. What cannot run
 * here is reported, not faked: RUN steps that install Debian packages or set
 * file capabilities (apt-get, setcap) are skipped, and `npm ci` links the
 * repository's node_modules instead of installing into the scratch directory.
 * A COPY whose source is missing fails the emulated build, as it fails
 * `docker build`.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string | null;
  from: string;
  instructions: Instruction[];
}

/** Split a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (!/^\s*#/.test(lines[i])) line += lines[i];
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile:${start}: cannot parse "${line}"`);
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile:${start}: bad FROM`);
      stages.push({ name: f[2] ?? null, from: f[1], instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile:${start}: ${op} before FROM`);
    stages[stages.length - 1].instructions.push({ op, args, line: start });
  }
  return stages;
}

export interface EmulatedStage {
  /** The scratch directory standing for the stage's WORKDIR. */
  dir: string;
  /** What the build printed, step by step (RUN output included). */
  log: string;
  env: Record<string, string>;
  user: string | null;
  healthcheck: string[] | null;
  cmd: string[] | null;
}

export interface EmulateOptions {
  /** Repository root: the build context. */
  context: string;
  /** Scratch directory for this stage's WORKDIR. */
  dir: string;
  /** PATH for RUN steps (to take the compiler away, say). */
  path: string;
  /** Extra environment for RUN steps (CC=/bin/false to force a failed compile). */
  env?: Record<string, string>;
  buildArgs?: Record<string, string>;
  /** Earlier stages by name, for COPY --from. */
  stages?: Map<string, EmulatedStage>;
}

function runShell(
  cmd: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Shell-style words of a COPY line, its --from flag pulled out. */
function copyArgs(args: string): { from: string | null; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    const m = /^--from=(.+)$/.exec(flag);
    if (m) from = m[1];
    else throw new Error(`unsupported COPY flag ${flag}`);
  }
  const dest = words.pop()!;
  return { from, sources: words, dest };
}

export async function emulateStage(stage: Stage, opts: EmulateOptions): Promise<EmulatedStage> {
  mkdirSync(opts.dir, { recursive: true });
  const out: EmulatedStage = { dir: opts.dir, log: '', env: {}, user: null, healthcheck: null, cmd: null };
  let workdir = '/';
  /** An absolute image path inside WORKDIR mapped to the scratch directory. */
  const local = (dir: string, imagePath: string, wd: string) => {
    const abs = path.posix.resolve(wd, imagePath);
    if (!abs.startsWith(`${workdir}/`) && abs !== workdir)
      throw new Error(`path ${abs} is outside WORKDIR ${workdir}: not emulated`);
    return path.join(dir, path.posix.relative(workdir, abs));
  };
  const say = (l: string) => (out.log += `${l}\n`);
  for (const ins of stage.instructions) {
    say(`#${ins.line} ${ins.op} ${ins.args}`);
    switch (ins.op) {
      case 'WORKDIR':
        workdir = ins.args;
        break;
      case 'ENV':
      case 'ARG': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args);
        if (!m) throw new Error(`Dockerfile:${ins.line}: unsupported ${ins.op} form`);
        const value = ins.op === 'ARG' ? (opts.buildArgs?.[m[1]] ?? m[2] ?? '') : (m[2] ?? '');
        out.env[m[1]] = value.replace(/^"(.*)"$/, '$1');
        break;
      }
      case 'COPY': {
        const { from, sources, dest } = copyArgs(ins.args);
        for (const src of sources) {
          let source: string;
          if (from) {
            const prior = opts.stages?.get(from);
            if (!prior) throw new Error(`Dockerfile:${ins.line}: no stage "${from}"`);
            source = path.join(prior.dir, path.posix.relative(workdir, src));
          } else {
            source = path.join(opts.context, src);
          }
          if (!existsSync(source))
            throw new Error(`Dockerfile:${ins.line}: COPY failed: ${src} not found (docker build fails here)`);
          const target =
            dest.endsWith('/') && !statSync(source).isDirectory()
              ? path.join(local(opts.dir, dest, workdir), path.basename(src))
              : local(opts.dir, dest, workdir);
          cpSync(source, target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        if (/\bapt-get\b|\bsetcap\b/.test(ins.args)) {
          say('   (skipped: Debian packages and file capabilities are not emulated; PATH decides which tools exist)');
          break;
        }
        if (/^npm ci\b/.test(ins.args)) {
          if (!existsSync(path.join(opts.dir, 'node_modules')))
            symlinkSync(path.join(opts.context, 'node_modules'), path.join(opts.dir, 'node_modules'));
          say("   (emulated: the repository's node_modules linked)");
          break;
        }
        const r = await runShell(ins.args, opts.dir, {
          ...process.env,
          ...out.env,
          ...opts.env,
          PATH: opts.path,
          HOME: opts.dir,
        });
        out.log += r.out;
        if (r.code !== 0)
          throw new Error(`Dockerfile:${ins.line}: RUN exited ${r.code} (docker build fails here)\n${out.log}`);
        break;
      }
      case 'USER':
        out.user = ins.args;
        break;
      case 'HEALTHCHECK': {
        const m = /\bCMD\s+(\[.*\])\s*$/.exec(ins.args);
        out.healthcheck = m ? (JSON.parse(m[1]) as string[]) : null;
        break;
      }
      case 'CMD':
        out.cmd = JSON.parse(ins.args) as string[];
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`Dockerfile:${ins.line}: ${ins.op} is not emulated`);
    }
  }
  return out;
}
