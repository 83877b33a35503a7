#!/usr/bin/env bash
# The main job, end to end, against the embedded sandbox (nothing leaves this machine):
# validate -> plan -> apply -> plan again -> verify.
#
# Always the embedded sandbox in its own state directory, whatever the environment
# holds: every RECONCILER_* variable is dropped and each command says --target sandbox.
# DEMO_BIN (default .venv/bin/reconciler) and DEMO_DIR (default: this checkout, which
# holds merchants/) let scripts/wheel-smoke.sh run the same demo with an installed wheel.
set -uo pipefail
cd "${DEMO_DIR:-$(dirname "$0")/..}"
R="${DEMO_BIN:-.venv/bin/reconciler}"
while read -r name; do unset "$name"; done < <(compgen -e | grep '^RECONCILER_')
export RECONCILER_STATE_DIR=".reconciler/demo"
rm -rf "$RECONCILER_STATE_DIR"   # a freshly onboarded sandbox every time

bold='' plain=''
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
expect() { # expect CODE COMMAND...: run, show the exit code, stop the demo on a surprise
  local want=$1; shift
  "$@"; local got=$?
  echo "(exit $got)"
  if [ "$got" -ne "$want" ]; then echo "demo: expected exit $want from: $*" >&2; exit 1; fi
}
rc() { "$R" --target sandbox "$@"; }

echo "Target: sandbox (embedded; state in $RECONCILER_STATE_DIR)"

step "reconciler validate   # offline: schema, profiles, templates, domain rules"
expect 0 rc validate

step "reconciler plan --detailed-exitcode   # read-only; exit 2 = changes present"
expect 2 rc plan --detailed-exitcode

step "reconciler apply --auto-approve"
expect 0 rc apply --auto-approve

step "reconciler plan --detailed-exitcode   # cosmo-kids still waits for H5 Redirect approval (manual)"
expect 2 rc plan --detailed-exitcode

step "reconciler plan --detailed-exitcode --exclude cosmo-kids   # everything else converged"
expect 0 rc plan --detailed-exitcode --exclude cosmo-kids

step "reconciler verify --exclude cosmo-kids   # end-to-end checks on the live (sandbox) systems"
expect 0 rc verify --exclude cosmo-kids

printf '\nDemo complete. Sandbox state: %s\n' "$RECONCILER_STATE_DIR"

# -- Published-only: the services as their public record describes them ------------------------
# Every assumed endpoint answers as an unknown path (docs/sandbox.md, "Published-only mode"):
# what no published API can set becomes a manual action, and verify proves the outcome.
export RECONCILER_STATE_DIR=".reconciler/demo-published-only"
export RECONCILER_SANDBOX_MODE=published-only
rm -rf "$RECONCILER_STATE_DIR"
P=(--target sandbox --merchant bright-basics)

step "reconciler doctor   # published-only: assumed endpoints unavailable, published ones available"
expect 0 $R doctor "${P[@]}"

step "reconciler plan --detailed-exitcode   # manual actions with exact instructions; changes held back, nobody errored"
expect 2 $R plan --detailed-exitcode "${P[@]}"

step "reconciler apply --auto-approve   # writes what it can; nothing is sent to an unavailable endpoint"
expect 0 $R apply --auto-approve "${P[@]}"

step "a person does the manual actions (sandbox: scenario set-up-by-hand); reconciler verify proves them"
export RECONCILER_SANDBOX_SCENARIOS="bright-basics=set-up-by-hand"
expect 0 $R verify "${P[@]}"

printf '\nPublished-only demo complete. Sandbox state: %s\n' "$RECONCILER_STATE_DIR"
