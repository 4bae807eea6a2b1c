#!/usr/bin/env bash
# CPU and RSS of bms-bridge with 1 Daly polled every 5 s and 3 VE.Direct streams at 1 Hz
# (SmartShunt + 2 MPPTs), all simulated by `voltwire sim` on ptys, for SECONDS (default 60).
# Usage: apps/bms-bridge/scripts/bench.sh [SECONDS]   (builds both binaries in release)
set -euo pipefail
cd "$(dirname "$0")/../../.."
secs=${1:-60}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/voltwire-target}"
cargo build -q --release -p voltwire -p bms-bridge
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
pids=()
# The simulators are started inside $(…) (a subshell), so their pids go to a file.
cleanup() {
  for p in "${pids[@]}" $(cat "$work/sim.pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
serve() { # device name -> pty path
  "$bin/voltwire" sim "$1" --listen pty --cells 8 >"$work/$2.out" 2>/dev/null &
  echo $! >>"$work/sim.pids"
  for _ in $(seq 100); do
    path=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listening"])' "$work/$2.out" 2>/dev/null || true)
    [ -n "$path" ] && { echo "$path"; return; }
    sleep 0.1
  done
  echo "no pty from voltwire sim $1" >&2; exit 1
}
daly=$(serve daly daly); shunt=$(serve vedirect-smartshunt shunt)
m1=$(serve vedirect-mppt m1); m2=$(serve vedirect-mppt m2)
cat >"$work/bb.toml" <<TOML
[bms]
url = "serial://$daly?baud=9600"
poll_s = 5
[shunt]
url = "serial://$shunt?baud=19200"
[[charger]]
url = "serial://$m1?baud=19200"
[[charger]]
url = "serial://$m2?baud=19200"
[rules]
# Short timeouts, so a source that did not deliver would trip its comm latch in the run.
timeout_bms_s = 15
timeout_vedirect_s = 5
TOML
RUST_LOG=info "$bin/bms-bridge" --config "$work/bb.toml" 2>"$work/bb.log" &
bb=$!; pids+=($bb)
sleep 2
tick=$(getconf CLK_TCK)
t0=$(awk '{print $14+$15}' /proc/$bb/stat)
sleep "$secs"
t1=$(awk '{print $14+$15}' /proc/$bb/stat)
rss=$(awk '/VmHWM/ {print $2}' /proc/$bb/status)
# The sources must have been live the whole time: no comm latch, every link up.
if grep -q 'tripped.*comm_' "$work/bb.log"; then grep 'tripped' "$work/bb.log"; echo "a source timed out" >&2; exit 1; fi
ups=$(grep -c 'link up' "$work/bb.log" || true)
[ "$ups" -ge 4 ] || { cat "$work/bb.log"; echo "only $ups of 4 links up" >&2; exit 1; }
python3 - "$t0" "$t1" "$tick" "$secs" "$rss" <<'PY'
import sys
t0, t1, tick, secs, rss = map(float, sys.argv[1:])
cpu = (t1 - t0) / tick / secs * 100
print(f"bms-bridge over {secs:.0f} s: CPU {cpu:.2f} % of one core, peak RSS {rss/1024:.1f} MiB")
PY
