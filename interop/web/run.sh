#!/usr/bin/env bash
# The status page in a real browser: headless Debian Chromium + chromedriver, driven by
# selenium, against `can-gateway --demo --web-port 0` (see test_page.py), and
# `promtool check metrics` on its /metrics.
#
# Usage: interop/web/run.sh [PATH/TO/can-gateway]
# Without a path it builds the binary (`cargo build -p can-gateway`). Needs /usr/bin/chromium,
# /usr/bin/chromedriver and promtool (Debian: chromium chromium-driver prometheus; .ci/run
# installs them): a missing one is a failure (exit 2), never a skip. Uses the venv
# $HOME/.cache/voltwire-web-venv (selenium, installed only when missing). Screenshots and the
# scraped metrics go to $WEB_ARTIFACTS (default $HOME/.cache/voltwire-artifacts/web).
# Prints one ok/FAIL line per check and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HOME/.cache/voltwire-web-venv"
SELENIUM=4.51.0
ARTIFACTS="${WEB_ARTIFACTS:-$HOME/.cache/voltwire-artifacts/web}"

BIN="${1:-}"
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build -q -p can-gateway)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/can-gateway"
fi
[ -x "$BIN" ] || { echo "run.sh: $BIN is not an executable; fix: build it with cargo build -p can-gateway" >&2; exit 2; }
for tool in /usr/bin/chromium /usr/bin/chromedriver promtool; do
  command -v "$tool" >/dev/null || {
    echo "run.sh: $tool is missing; fix: apt-get install chromium chromium-driver prometheus" >&2
    exit 2
  }
done

if ! "$VENV/bin/python" -c "import selenium; assert selenium.__version__ == '$SELENIUM'" >/dev/null 2>&1; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "selenium==$SELENIUM"
fi

# Selenium must use Debian's chromedriver, never download one.
export SE_OFFLINE=true
rm -f "$ARTIFACTS"/*.png
exec "$VENV/bin/python" "$HERE/test_page.py" "$BIN" "$ARTIFACTS"
