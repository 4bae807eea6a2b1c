#!/usr/bin/env bash
# Interop: the real zero-feed-in binary against independent peers over real ptys and TCP:
# pymodbus 3.16.1 as the Modbus RTU server playing a Lumentree SUN-1000 and an Eco-Worthy
# coulomb meter (each on a socat pty pair), and a Shelly Pro 3EM over HTTP (Python's
# http.server). See test_interop.py for what is checked. (The NPB path is checked with
# npbcharger in interop/sim.)
#
# Usage: interop/zero-feed-in/run.sh [PATH/TO/zero-feed-in]
# Without a path it builds the binary (`cargo build -p zero-feed-in`). Uses the venv
# $HOME/.cache/voltwire-venvs/pymodbus (pymodbus==3.16.1, pyserial; the one interop/sim uses),
# installing only when missing. One ok/FAIL line per check, then "N/M checks"; exits non-zero
# on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HOME/.cache/voltwire-venvs/pymodbus"

BIN="${1:-}"
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build -q -p zero-feed-in)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/zero-feed-in"
fi
[ -x "$BIN" ] || { echo "run.sh: $BIN is not an executable; fix: build it with cargo build -p zero-feed-in" >&2; exit 2; }
command -v socat >/dev/null || { echo "run.sh: socat is missing; fix: apt-get install socat" >&2; exit 2; }

if ! "$VENV/bin/python" -c 'import pymodbus, serial; assert pymodbus.__version__ == "3.16.1"' >/dev/null 2>&1; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check pymodbus==3.16.1 pyserial
fi

exec "$VENV/bin/python" "$HERE/test_interop.py" "$BIN"
