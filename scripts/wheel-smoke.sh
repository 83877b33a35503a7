#!/usr/bin/env bash
# The product as users get it: build the sdist and, from it, the wheel; install the wheel
# into a fresh virtual environment outside the checkout; then, from a scratch directory
# holding only a copy of merchants/, run the main job (scripts/demo.sh) with the installed
# `reconciler`, `python -m reconciler --help`, and a served sandbox planned over HTTP.
# Needs python3 and PyPI (the build backend and the dependencies). Leaves nothing behind.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n==> wheel-smoke: %s\n' "$*"; }

say "build the sdist, then the wheel from it"
"${PY:-python3}" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/pip" install --quiet --upgrade pip build
"$bin/python" -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; exit 1; }
"$bin/pip" install --quiet "$work"/dist/reconciler-*.whl

mkdir "$work/scratch"
cp -R "$repo/merchants" "$work/scratch/merchants"
cd "$work/scratch"
installed="$("$bin/python" -c 'import reconciler; print(reconciler.__file__)')"
case "$installed" in
  "$work/venv/"*) echo "reconciler imported from $installed" ;;
  *) echo "wheel-smoke: reconciler imported from $installed, not the fresh venv" >&2; exit 1 ;;
esac

say "the main job with the installed wheel (scripts/demo.sh)"
DEMO_BIN="$bin/reconciler" DEMO_DIR="$work/scratch" "$repo/scripts/demo.sh"

say "python -m reconciler --help"
"$bin/python" -m reconciler --help >/dev/null

say "sandbox serve, then plan --target http://127.0.0.1:PORT"
port="$("$bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin/reconciler" sandbox serve --port "$port" >"$work/serve.log" 2>&1 &
server=$!
"$bin/python" - "$port" <<'PY' || { cat "$work/serve.log"; exit 1; }
import sys, time, httpx
url = f"http://127.0.0.1:{sys.argv[1]}/_sandbox/health"
deadline = time.monotonic() + 60
while True:
    try:
        httpx.get(url, timeout=2).raise_for_status()
        break
    except httpx.HTTPError:
        if time.monotonic() > deadline:
            sys.exit("sandbox did not answer within 60 s")
        time.sleep(0.2)
PY
code=0
"$bin/reconciler" --target "http://127.0.0.1:$port" plan --detailed-exitcode || code=$?
if [ "$code" -ne 2 ]; then echo "wheel-smoke: plan on the served sandbox exited $code, not 2" >&2; exit 1; fi
kill "$server"; wait "$server" 2>/dev/null || true; server=""

say "passed"
