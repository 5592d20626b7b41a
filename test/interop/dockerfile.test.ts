/**
 * The Dockerfile, without a Docker engine: its build and runtime stages are
 * run step by step in scratch directories (dockerfile-emulator.ts), three
 * times: with the machine's compiler, with no C compiler in PATH, and with
 * the compile forced to fail (CC=/bin/false). Every time the build must
 * succeed; the build log must say whether the addon was built and, when not,
 * node-gyp's real reason; the runtime directory must hold the addon exactly
 * when it was built. The runtime stage is then started with the image's CMD
 * (listen and admin addresses moved to loopback ports): it answers DNS, says
 * at start which UDP path it uses (batched with the addon, node:dgram
 * without), and the image's HEALTHCHECK command passes against it and fails
 * once it has stopped. Also a lint with dockerfile-utils (the Dockerfile
 * language service behind editors' Docker support): no diagnostics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { addresses, udpQuery, until } from '../helpers/dns.js';
import { ROOT } from '../helpers/server.js';
import { emulateStage, parseDockerfile, type EmulatedStage } from './dockerfile-emulator.js';
import { freePort } from './tools.js';

const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const scratch = path.join(os.tmpdir(), `meridian-dockerfile-${process.pid}`);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** A PATH with every tool of /usr/bin and /bin except C/C++ compilers and preprocessors. */
function pathWithoutCompiler(): string {
  const dir = path.join(scratch, 'bin-without-cc');
  mkdirSync(dir, { recursive: true });
  for (const bin of ['/usr/bin', '/bin']) {
    for (const name of readdirSync(bin)) {
      if (/^(cc|c\+\+|cpp|gcc|g\+\+|clang|tcc)([-.\d].*)?$|-(gcc|g\+\+|cpp)(-[\d.]+)?$/.test(name)) continue;
      if (!existsSync(path.join(dir, name))) symlinkSync(path.join(bin, name), path.join(dir, name));
    }
  }
  return dir;
}

/** Build then runtime stage into scratch/<name>/{build,runtime}. */
async function buildImage(
  name: string,
  opts: { path: string; env?: Record<string, string> },
): Promise<{ build: EmulatedStage; runtime: EmulatedStage }> {
  const [buildStage, runtimeStage] = stages;
  const build = await emulateStage(buildStage, {
    context: ROOT,
    dir: path.join(scratch, name, 'build'),
    path: opts.path,
    env: opts.env,
  });
  const runtime = await emulateStage(runtimeStage, {
    context: ROOT,
    dir: path.join(scratch, name, 'runtime'),
    path: process.env.PATH!,
    stages: new Map([[buildStage.name!, build]]),
  });
  return { build, runtime };
}

/** Start the runtime stage's CMD with its addresses moved to loopback; resolves once DNS answers. */
async function startImage(image: EmulatedStage) {
  const port = await freePort();
  const admin = await freePort();
  const cmd = image.cmd!.map((a) =>
    a.replace(/^0\.0\.0\.0:53$/, `127.0.0.1:${port}`).replace(/^0\.0\.0\.0:9153$/, `127.0.0.1:${admin}`),
  );
  expect(cmd.join(' ')).toContain(`--listen 127.0.0.1:${port}`);
  expect(cmd.join(' ')).toContain(`--admin 127.0.0.1:${admin}`);
  const env = { ...process.env, ...image.env, MERIDIAN_ADMIN_TOKEN: 'dockerfile-test-token-0123456789' };
  const child = spawn(cmd[0] === 'node' ? process.execPath : cmd[0], cmd.slice(1), {
    cwd: image.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await until(
    async () => child.exitCode === null && addresses(await udpQuery(port, { name: 'www.example.net' })).length === 1,
    'the image answers DNS',
    120_000,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${log}`);
  });
  const startLine = () =>
    log
      .split('\n')
      .filter((l) => l.includes('"meridian serving"'))
      .map((l) => JSON.parse(l) as { udp: string; workers: number })[0];
  // Logged once start-up is complete, which includes the first merge of the ECS scopes of the current
  // answers (issue 15): the listeners answer before it, with full-ranking scopes meanwhile.
  await until(() => startLine() !== undefined, 'the start line', 60_000, 100);
  return { child, port, admin, exited, log: () => log, startLine };
}

/** The image's HEALTHCHECK command against `adminPort` (the image's default address is 127.0.0.1:9153). */
function healthcheck(image: EmulatedStage, adminPort: number) {
  const [bin, ...args] = image.healthcheck!;
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(bin === 'node' ? process.execPath : bin, args, {
      cwd: image.dir,
      env: { ...process.env, MERIDIAN_HEALTHCHECK_URL: `http://127.0.0.1:${adminPort}/healthz` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('Dockerfile (emulated, no Docker engine here)', { timeout: 600_000 }, () => {
  it('lints clean (dockerfile-utils), and the linter does catch mistakes', () => {
    const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(lintDockerfile('FROM x\nCOPY only-one-arg\nHEALTHCHECK --bogus=1 CMD true\n').map((d) => d.message)).toEqual(
      ['COPY requires at least two arguments', 'Unknown flag: bogus'],
    );
  });

  it('has the shape the checks below rely on: a build stage, a runtime stage as a non-root user, HEALTHCHECK on /healthz', () => {
    expect(stages.map((s) => [s.name, s.from])).toEqual([
      ['build', 'node:20-bookworm-slim'],
      [null, 'node:20-bookworm-slim'],
    ]);
    const runtime = stages[1].instructions;
    expect(runtime.find((i) => i.op === 'USER')?.args).toBe('node');
    expect(runtime.find((i) => i.op === 'HEALTHCHECK')?.args).toMatch(/CMD \["node", "scripts\/healthcheck\.mjs"\]$/);
    expect(readFileSync(path.join(ROOT, 'scripts', 'healthcheck.mjs'), 'utf8')).toContain(
      "'http://127.0.0.1:9153/healthz'",
    );
    // The addon is never COPYed by name (that fails the build when it was not built).
    expect(runtime.filter((i) => i.op === 'COPY' && /udp_batch\.node/.test(i.args))).toEqual([]);
  });

  it('with a compiler: the addon is built and shipped; the image serves with batched UDP and passes its health check', async () => {
    const { build, runtime } = await buildImage('with-cc', { path: process.env.PATH! });
    expect(build.log).toContain('build-native: built build/Release/udp_batch.node');
    expect(build.log).toContain('image: with the batched UDP addon');
    expect(existsSync(path.join(runtime.dir, 'build', 'Release', 'udp_batch.node'))).toBe(true);
    expect(runtime.user).toBe('node');
    const s = await startImage(runtime);
    expect(s.startLine()?.udp).toBe('batched (recvmmsg/sendmmsg)');
    const ok = await healthcheck(runtime, s.admin);
    expect(ok.code, ok.stderr).toBe(0);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const down = await healthcheck(runtime, s.admin);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^healthcheck: http:\/\/127\.0\.0\.1:\d+\/healthz: ECONNREFUSED/);
  });

  it("without a C compiler in PATH: the build succeeds, its log gives node-gyp's reason, the image ships no addon and serves with node:dgram", async () => {
    const { build, runtime } = await buildImage('without-cc', { path: pathWithoutCompiler() });
    expect(build.log).toContain(
      'build-native: could not build the batched UDP addon: make: cc: No such file or directory; node:dgram will be used',
    );
    expect(build.log).toContain('build-native: node-gyp said:');
    expect(build.log).toContain('image: no batched UDP addon; Meridian will serve UDP with node:dgram');
    expect(readdirSync(path.join(runtime.dir, 'build', 'Release'))).toEqual([]);
    const s = await startImage(runtime);
    expect(s.startLine()?.udp).toBe('node:dgram');
    const ok = await healthcheck(runtime, s.admin);
    expect(ok.code, ok.stderr).toBe(0);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('with the compile forced to fail (CC=/bin/false): the build still succeeds and says make failed', async () => {
    const { build, runtime } = await buildImage('cc-fails', {
      path: process.env.PATH!,
      env: { CC: '/bin/false', CXX: '/bin/false' },
    });
    expect(build.log).toMatch(
      /build-native: could not build the batched UDP addon: `make` failed with exit code: 2; node:dgram will be used/,
    );
    expect(build.log).toContain('image: no batched UDP addon');
    expect(existsSync(path.join(runtime.dir, 'build', 'Release', 'udp_batch.node'))).toBe(false);
    expect(existsSync(path.join(runtime.dir, 'dist', 'cli.js'))).toBe(true);
  });
});
