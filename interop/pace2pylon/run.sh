#!/usr/bin/env bash
# Interop: python-pylontech 0.3.3 (an independent inverter-side implementation) polls
# pace2pylon's Pylontech RS485 side over a socat pty pair while pace2pylon --demo merges 12
# simulated Pace packs (see test_interop.py).
#
# Usage: interop/pace2pylon/run.sh [PATH/TO/pace2pylon]
# Without a path it builds the binary (`cargo build -p pace2pylon`). Uses the venv
# $HOME/.cache/voltwire-pyl-venv (python-pylontech 0.3.3, pyserial), installing only when
# missing. One ok/FAIL line per check; exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HOME/.cache/voltwire-pyl-venv"

BIN="${1:-}"
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build -q -p pace2pylon)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/pace2pylon"
fi
[ -x "$BIN" ] || { echo "run.sh: $BIN is not an executable; fix: build it with cargo build -p pace2pylon" >&2; exit 2; }
command -v socat >/dev/null || { echo "run.sh: socat is missing; fix: apt-get install socat" >&2; exit 2; }

if ! "$VENV/bin/python" -c 'import pylontech, serial' >/dev/null 2>&1; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check python-pylontech==0.3.3 pyserial
fi

exec "$VENV/bin/python" "$HERE/test_interop.py" "$BIN"
