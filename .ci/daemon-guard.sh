# Sourced by .ci/run. While CI installs Debian packages, their maintainer
# scripts must not start daemons (unbound on port 53, prometheus on 9090,
# nats-server on 4222) on the machine: invoke-rc.d asks /usr/sbin/policy-rc.d
# and exit code 101 means "do not start". The machine must be left as it was
# found: an existing policy-rc.d (a file or a symlink, with its mode and
# owner) is set aside and put back, and a policy file the guard wrote itself
# is removed. An EXIT trap restores it even when the install fails.
#
#   block_daemon_starts     set our policy (exit 101), saving any original
#   restore_daemon_starts   put the original back, or remove ours
#
# POLICY_RC_D and SUDO may be set by the caller (tests point POLICY_RC_D at a
# scratch file).

POLICY_RC_D="${POLICY_RC_D:-/usr/sbin/policy-rc.d}"
SUDO="${SUDO:-}"
_guard_backup=""
_guard_active=""

block_daemon_starts() {
  [ -z "$_guard_active" ] || return 0
  if [ -e "$POLICY_RC_D" ] || [ -L "$POLICY_RC_D" ]; then
    _guard_backup="$($SUDO mktemp -u "${POLICY_RC_D}.meridian-ci.XXXXXX")"
    # -a keeps a symlink a symlink, and the mode, owner and times of a file.
    $SUDO cp -a "$POLICY_RC_D" "$_guard_backup"
    $SUDO rm -f "$POLICY_RC_D"
  fi
  _guard_active=1
  trap restore_daemon_starts EXIT
  printf '#!/bin/sh\n# Written by Meridian .ci/run while it installs packages; removed after.\nexit 101\n' | $SUDO tee "$POLICY_RC_D" >/dev/null
  $SUDO chmod 0755 "$POLICY_RC_D"
}

restore_daemon_starts() {
  [ -n "$_guard_active" ] || return 0
  $SUDO rm -f "$POLICY_RC_D"
  if [ -n "$_guard_backup" ]; then
    $SUDO mv -f "$_guard_backup" "$POLICY_RC_D"
  fi
  _guard_backup=""
  _guard_active=""
  trap - EXIT
}
