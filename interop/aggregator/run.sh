#!/usr/bin/env bash
# Interop: the aggregator's release binaries for the GX devices, run as they are shipped.
# Each binary runs under qemu-user when it is not for this machine (ARM: qemu-arm-static,
# AArch64: qemu-aarch64-static), and is checked for:
#   1. `--version` prints "aggregator <version>";
#   2. `--init` writes the template and `--check-config` accepts it (exit 0); a config with an
#      unknown key is refused with exit 2 and the key named;
#   3. venus/install.sh refuses a foreign binary that cannot run here, changing nothing;
#   4. on a private dbus-daemon (started here from a config file, as the tests do) with two
#      batteries published by the tests' dbus-python peer (apps/aggregator/tests/vedbus_sim.py,
#      the way dbus-serialbattery publishes), `com.victronenergy.battery.aggregate` is read with
#      `dbus-send … com.victronenergy.BusItem.GetValue` like a Venus client: /Dc/0/Voltage,
#      /Soc, /Info/MaxChargeCurrent (2 × the smaller CCL), /System/NrOfModulesOnline;
#      then one battery leaves the bus and the aggregate stays, with one module offline.
#
# Usage: interop/aggregator/run.sh BINARY...
# Needs dbus-daemon, dbus-send, python3-dbus, python3-gi, and qemu-user-static for foreign
# binaries. One ok/FAIL line per check, then "N/M checks"; exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEER="$ROOT/apps/aggregator/tests/vedbus_sim.py"
[ $# -gt 0 ] || { echo "run.sh: give the aggregator binaries to check; fix: run.sh PATH/TO/aggregator..." >&2; exit 2; }
for tool in dbus-daemon dbus-send; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing; fix: apt-get install dbus" >&2; exit 2; }
done
/usr/bin/python3 -c 'import dbus, gi' 2>/dev/null \
  || { echo "run.sh: dbus-python is missing; fix: apt-get install python3-dbus python3-gi" >&2; exit 2; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
total=0
check() { # check NAME COMMAND...: one ok/FAIL line
  local name="$1"
  shift
  total=$((total + 1))
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    echo "FAIL $name"
  fi
}

quiet() { "$@" >/dev/null; }

# The runner for a binary: nothing for this machine's, qemu-user for ARM and AArch64.
runner() {
  local kind
  kind="$(file -b "$1")"
  case "$kind" in
    *x86-64*) [ "$(uname -m)" = x86_64 ] && return 0 ;;
    *aarch64* | *ARM\ aarch64*) [ "$(uname -m)" = aarch64 ] && return 0; echo qemu-aarch64-static; return 0 ;;
    *ARM*) echo qemu-arm-static; return 0 ;;
  esac
  echo "run.sh: no runner for $1 ($kind)" >&2
  return 1
}

# value SERVICE PATH: the GetValue reply's value, as dbus-send prints it ("double 53.0005").
value() {
  dbus-send --bus="$ADDRESS" --print-reply=literal --reply-timeout=5000 --dest="$1" "$2" \
    com.victronenergy.BusItem.GetValue 2>/dev/null | sed -e 's/^ *variant *//' -e 's/ *$//'
}

# until_value SERVICE PATH PATTERN: wait (up to 60 s, a guard for slow qemu, not a measured
# window) until the value matches the extended regex PATTERN; prints the last value seen.
until_value() {
  local v="" i
  for i in $(seq 1 120); do
    if ! kill -0 "$AGG_PID" 2>/dev/null; then
      echo "run.sh: the aggregator exited" >&2
      return 1
    fi
    v="$(value "$1" "$2" || true)"
    if [[ "$v" =~ $3 ]]; then
      echo "$v"
      return 0
    fi
    sleep 0.5
  done
  echo "run.sh: $2 of $1 is '$v', expected /$3/" >&2
  echo "$v"
  return 1
}

one_binary() {
  local bin="$1" run dir version failed_before=$((total - passed))
  run="$(runner "$bin")" || { total=$((total + 1)); echo "FAIL runner for $bin"; return; }
  dir="$WORK/$(basename "$(dirname "$(dirname "$bin")")")"
  mkdir -p "$dir"
  echo "--- $bin (${run:-native}): $(file -b "$bin" | cut -d, -f1-2)"

  version="$($run "$bin" --version 2>&1 || true)"
  check "--version prints '$version'" grep -Eq '^aggregator [0-9]+\.[0-9]+\.[0-9]+' <<<"$version"

  check "--init writes the template" quiet $run "$bin" --init "$dir/template.toml"
  check "--check-config accepts the template" quiet $run "$bin" --check-config "$dir/template.toml"
  sed 's/^\[policy\]$/[policy]\nbogus_key = 1/' "$dir/template.toml" >"$dir/bad.toml"
  local out rc=0
  out="$($run "$bin" --check-config "$dir/bad.toml" 2>&1)" || rc=$?
  check "--check-config refuses an unknown key (exit $rc, names bogus_key)" \
    test "$rc" = 2 -a -n "$(grep -F bogus_key <<<"$out")"

  # venus/install.sh refuses a binary that does not run on the machine (here: a foreign one
  # without a binfmt handler) before it replaces anything.
  if [ -n "$run" ] && ! "$bin" --version >/dev/null 2>&1; then
    local unpacked="$dir/unpacked" root="$dir/root"
    mkdir -p "$unpacked" "$root/service" "$root/data"
    cp -r "$ROOT/apps/aggregator/venus/." "$unpacked/"
    cp "$bin" "$unpacked/aggregator"
    rc=0
    out="$(AGGREGATOR_ROOT="$root" sh "$unpacked/install.sh" 2>&1)" || rc=$?
    check "venus/install.sh refuses it on $(uname -m) (exit $rc), installs nothing" \
      test "$rc" = 1 -a ! -e "$root/data/aggregator" -a -n "$(grep -F 'does not run on this machine' <<<"$out")"
  fi

  # A private bus from a config file, two batteries, the aggregator on it.
  local bus="$dir/bus"
  cat >"$dir/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
  dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile >"$dir/dbus.log" 2>&1 &
  PIDS+=($!)
  ADDRESS="unix:path=$bus"
  local i
  for i in $(seq 1 100); do [ -S "$bus" ] && break; sleep 0.1; done

  local peers=()
  for spec in "one 50 100" "two 70 120"; do
    # shellcheck disable=SC2086 # NAME CCL DCL
    /usr/bin/python3 "$PEER" "$ADDRESS" battery $spec >"$dir/peer-${spec%% *}.log" 2>&1 &
    PIDS+=($!)
    peers+=($!)
  done
  for spec in one two; do
    for i in $(seq 1 100); do grep -q ready "$dir/peer-$spec.log" && break; sleep 0.1; done
  done

  # The template with this bus, two batteries, a 1 s re-read, a 3 s timeout and a 1 s recovery hold.
  sed -e "s|^bus = \"system\"|bus = \"$ADDRESS\"|" -e 's/^expected = 3$/expected = 2/' \
    -e 's/^refresh_s = 4$/refresh_s = 1/' -e 's/^timeout_s = 10$/timeout_s = 3/' -e 's/^recovery_hold_s = 30$/recovery_hold_s = 1/' \
    "$dir/template.toml" >"$dir/aggregator.toml"
  check "the template's bus/expected/refresh_s/timeout_s/recovery_hold_s lines were replaced" \
    test "$(grep -cE "^(bus = \"unix|expected = 2$|refresh_s = 1$|timeout_s = 3$|recovery_hold_s = 1$)" "$dir/aggregator.toml")" = 5
  $run "$bin" --config "$dir/aggregator.toml" -v >"$dir/aggregator.log" 2>&1 &
  AGG_PID=$!
  PIDS+=("$AGG_PID")

  local svc=com.victronenergy.battery.aggregate v
  v="$(until_value $svc /System/NrOfModulesOnline '^int32 2$')" || true
  check "/System/NrOfModulesOnline = 2 ($v)" test "$v" = "int32 2"
  v="$(until_value $svc /Dc/0/Voltage '^double 53\.00[0-9]*$')" || true
  check "/Dc/0/Voltage = the batteries' 53.00 V ($v)" grep -Eq '^double 53\.00' <<<"$v"
  v="$(until_value $svc /Soc '^double 50(\.0*)?$')" || true
  check "/Soc = 50 % ($v)" grep -Eq '^double 50(\.0*)?$' <<<"$v"
  v="$(until_value $svc /Info/MaxChargeCurrent '^double 100(\.0*)?$')" || true
  check "/Info/MaxChargeCurrent = 2 x 50 A ($v)" grep -Eq '^double 100(\.0*)?$' <<<"$v"

  # One battery leaves: the aggregate stays, the module counts offline, limits from the rest.
  kill "${peers[1]}"
  v="$(until_value $svc /System/NrOfModulesOffline '^int32 1$')" || true
  check "battery two gone: /System/NrOfModulesOffline = 1 ($v)" test "$v" = "int32 1"
  v="$(until_value $svc /Info/MaxChargeCurrent '^double 50(\.0*)?$')" || true
  check "battery two gone: /Info/MaxChargeCurrent = 50 A, the rest's ($v)" grep -Eq '^double 50(\.0*)?$' <<<"$v"
  v="$(value $svc /Mgmt/ProcessName || true)"
  check "the aggregate stays on the bus (/Mgmt/ProcessName $v)" test -n "$v"

  if [ $((total - passed)) != "$failed_before" ]; then
    echo "--- aggregator log (last lines)"
    tail -n 30 "$dir/aggregator.log" || true
  fi
  cleanup_run
}

# Stop this binary's processes (aggregator, peers, daemon) before the next one.
cleanup_run() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

for bin in "$@"; do
  [ -x "$bin" ] || { echo "run.sh: $bin is not an executable; fix: build it (see .ci/run's musl step)" >&2; exit 2; }
  one_binary "$bin"
done
echo "$passed/$total checks"
[ "$passed" = "$total" ]
