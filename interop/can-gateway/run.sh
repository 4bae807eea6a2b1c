#!/usr/bin/env bash
# Interop: python-can's `slcan` interface plays a BMS into `can-gateway` and an inverter
# reading its output, over two socat pty pairs (see test_interop.py).
#
# Usage: interop/can-gateway/run.sh [PATH/TO/can-gateway]
# Without a path it builds the binary (`cargo build -p can-gateway`). Uses the venv
# $HOME/.cache/voltwire-venv (python-can 4.6.1, pyserial), installing only when missing.
# Prints one ok/FAIL line per check and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HOME/.cache/voltwire-venv"

BIN="${1:-}"
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build -q -p can-gateway)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/can-gateway"
fi
[ -x "$BIN" ] || { echo "run.sh: $BIN is not an executable; fix: build it with cargo build -p can-gateway" >&2; exit 2; }
command -v socat >/dev/null || { echo "run.sh: socat is missing; fix: apt-get install socat" >&2; exit 2; }

if ! "$VENV/bin/python" -c 'import can, serial; assert can.__version__ == "4.6.1"' >/dev/null 2>&1; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check python-can==4.6.1 pyserial
fi

exec "$VENV/bin/python" "$HERE/test_interop.py" "$BIN"
