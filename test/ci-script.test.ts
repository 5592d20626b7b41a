/**
 * .ci/run must leave the machine as it found it. Its daemon guard
 * (.ci/daemon-guard.sh, sourced by .ci/run) is run by bash against a scratch
 * policy-rc.d: with none there it writes one that forbids daemon starts
 * (exit 101) and removes it afterwards; an existing file, or symlink, is set
 * aside and put back byte for byte with its mode and times, also when the
 * package install in between fails. And the script installs what the suites
 * (and later issues) need.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/server.js';

const GUARD = path.join(ROOT, '.ci', 'daemon-guard.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(): { dir: string; policy: string } {
  const dir = tempDir('meridian-ci-guard-');
  dirs.push(dir);
  return { dir, policy: path.join(dir, 'policy-rc.d') };
}

/** Run `script` in bash with the guard sourced (SUDO empty, POLICY_RC_D in scratch). */
function bash(policy: string, script: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      '/bin/bash',
      [
        '-c',
        `set -euo pipefail\nSUDO=""\nPOLICY_RC_D=${JSON.stringify(policy)}\n. ${JSON.stringify(GUARD)}\n${script}`,
      ],
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** While the guard is active: what running the policy says (101 = do not start daemons). */
const CHECK = 'if "$POLICY_RC_D" unbound start; then echo "policy: $?"; else echo "policy: $?"; fi';

describe('.ci/run daemon guard', () => {
  it('no policy-rc.d before: one forbidding daemon starts while packages install, none after', async () => {
    const { dir, policy } = scratch();
    const r = await bash(policy, `block_daemon_starts\n${CHECK}\nrestore_daemon_starts`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('policy: 101');
    expect(existsSync(policy)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an existing policy-rc.d is put back byte for byte, with its mode and times', async () => {
    const { dir, policy } = scratch();
    writeFileSync(policy, "#!/bin/sh\n# the machine's own policy\nexit 0\n");
    chmodSync(policy, 0o750);
    utimesSync(policy, new Date('2025-01-02T03:04:05Z'), new Date('2025-01-02T03:04:05Z'));
    const before = statSync(policy);
    const r = await bash(policy, `block_daemon_starts\n${CHECK}\nrestore_daemon_starts`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('policy: 101');
    expect(readFileSync(policy, 'utf8')).toBe("#!/bin/sh\n# the machine's own policy\nexit 0\n");
    const after = statSync(policy);
    expect(after.mode).toBe(before.mode);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.uid).toBe(before.uid);
    expect(readdirSync(dir)).toEqual(['policy-rc.d']);
  });

  it('a symlinked policy-rc.d stays a symlink to the same target, and the target is never written', async () => {
    const { dir, policy } = scratch();
    const target = path.join(dir, 'site-policy');
    writeFileSync(target, '#!/bin/sh\nexit 0\n');
    chmodSync(target, 0o755);
    symlinkSync(target, policy);
    const r = await bash(policy, `block_daemon_starts\n${CHECK}\nrestore_daemon_starts`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('policy: 101');
    expect(lstatSync(policy).isSymbolicLink()).toBe(true);
    expect(readlinkSync(policy)).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    expect(readdirSync(dir).sort()).toEqual(['policy-rc.d', 'site-policy']);
  });

  it('a failed install in between (set -e exits) still restores the original', async () => {
    const { dir, policy } = scratch();
    writeFileSync(policy, 'original\n');
    const r = await bash(policy, 'block_daemon_starts\nfalse  # apt-get install failed\nrestore_daemon_starts');
    expect(r.code).not.toBe(0);
    expect(readFileSync(policy, 'utf8')).toBe('original\n');
    expect(readdirSync(dir)).toEqual(['policy-rc.d']);
    const none = scratch();
    const r2 = await bash(none.policy, 'block_daemon_starts\nfalse\n');
    expect(r2.code).not.toBe(0);
    expect(existsSync(none.policy)).toBe(false);
  });
});

describe('.ci/run', () => {
  const run = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');

  it('installs through the guard and never writes or deletes /usr/sbin/policy-rc.d itself', () => {
    expect(run).toMatch(/^ {2}\. \.ci\/daemon-guard\.sh$/m);
    const block = run.indexOf('block_daemon_starts');
    const install = run.indexOf('apt-get install');
    const restore = run.indexOf('restore_daemon_starts');
    expect(block).toBeGreaterThan(0);
    expect(install).toBeGreaterThan(block);
    expect(restore).toBeGreaterThan(install);
    expect(run).not.toMatch(/\b(tee|rm|chmod|cp|mv)\b[^\n]*policy-rc\.d/);
  });

  it('installs the Debian packages the suites and later issues need, nats-server and bind9-utils included', () => {
    for (const pkg of [
      'bind9-dnsutils',
      'bind9-utils',
      'knot-dnsutils',
      'unbound',
      'prometheus',
      'chromium',
      'nats-server',
      'systemd',
      'util-linux',
    ]) {
      expect(run, pkg).toMatch(new RegExp(`need\\+=\\(${pkg}\\)`));
    }
  });
});
