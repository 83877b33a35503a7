#!/usr/bin/env bash
# The main job, end to end, against the embedded sandbox (nothing leaves this machine):
# validate -> plan -> apply -> plan again -> verify.
set -uo pipefail
cd "$(dirname "$0")/.."
R=".venv/bin/reconciler"
export RECONCILER_STATE_DIR=".reconciler/demo"
rm -rf "$RECONCILER_STATE_DIR"   # a freshly onboarded sandbox every time

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
expect() { # expect CODE COMMAND...: run, show the exit code, stop the demo on a surprise
  local want=$1; shift
  "$@"; local got=$?
  echo "(exit $got)"
  if [ "$got" -ne "$want" ]; then echo "demo: expected exit $want from: $*" >&2; exit 1; fi
}

step "reconciler validate   # offline: schema, profiles, templates, domain rules"
expect 0 $R validate

step "reconciler plan --detailed-exitcode   # read-only; exit 2 = changes present"
expect 2 $R plan --detailed-exitcode

step "reconciler apply --auto-approve"
expect 0 $R apply --auto-approve

step "reconciler plan --detailed-exitcode   # cosmo-kids still waits for H5 Redirect approval (manual)"
expect 2 $R plan --detailed-exitcode

step "reconciler plan --detailed-exitcode --exclude cosmo-kids   # everything else converged"
expect 0 $R plan --detailed-exitcode --exclude cosmo-kids

step "reconciler verify --exclude cosmo-kids   # end-to-end checks on the live (sandbox) systems"
expect 0 $R verify --exclude cosmo-kids

printf '\nDemo complete. Sandbox state: %s\n' "$RECONCILER_STATE_DIR"
