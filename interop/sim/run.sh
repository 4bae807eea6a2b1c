#!/usr/bin/env bash
# Interop: peers nobody here wrote, each against `voltwire sim` over the pty it prints.
#
# Usage: interop/sim/run.sh PATH/TO/voltwire
# Builds nothing. Creates one venv per peer under $HOME/.cache/voltwire-venvs/<peer>
# (import names clash), installing only when missing. Prints one ok/FAIL line per check and
# finally "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

BIN="${1:?usage: $0 PATH/TO/voltwire}"
HERE="$(cd "$(dirname "$0")" && pwd)"
VENVS="$HOME/.cache/voltwire-venvs"
PASSED=0
FAILED=0
SIM_PID=""
SIM_OUT=""

cleanup() {
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; fi
  SIM_PID=""
  [ -n "$SIM_OUT" ] && rm -f "$SIM_OUT"
  SIM_OUT=""
}
trap cleanup EXIT

# venv PEER SPEC [MODULE]: make sure $VENVS/PEER has SPEC (and pyserial) installed.
venv() {
  local dir="$VENVS/$1" spec="$2" module="$3"
  if ! "$dir/bin/python" -c "import $module, serial" >/dev/null 2>&1; then
    python3 -m venv "$dir" &&
      "$dir/bin/pip" install -q --disable-pip-version-check "$spec" pyserial
  fi
}

# start_sim ARGS...: run `voltwire sim ARGS --listen pty` (or $SIM_LISTEN, e.g. slcan-pty for
# the CAN devices), set PTY to the path it prints.
start_sim() {
  SIM_OUT="$(mktemp)"
  "$BIN" sim "$@" --listen "${SIM_LISTEN:-pty}" >"$SIM_OUT" &
  SIM_PID=$!
  PTY=""
  for _ in $(seq 100); do
    PTY="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listening"])' "$SIM_OUT" 2>/dev/null)" && [ -n "$PTY" ] && return 0
    sleep 0.05
  done
  return 1
}

# stop_sim: SIGTERM must end it with status 0.
stop_sim() {
  kill -TERM "$SIM_PID"
  if wait "$SIM_PID"; then record "ok   voltwire sim $1: exits 0 on SIGTERM"; else record "FAIL voltwire sim $1: exit status $? on SIGTERM"; fi
  SIM_PID=""
  rm -f "$SIM_OUT"
  SIM_OUT=""
}

record() {
  echo "$1"
  case "$1" in
    ok*) PASSED=$((PASSED + 1)) ;;
    *) FAILED=$((FAILED + 1)) ;;
  esac
}

# peer VENV LABEL SIM-ARGS... -- PEERS-ARGS...: one simulator, one peer run.
peer() {
  local py="$VENVS/$1/bin/python" label="$2"
  shift 2
  local sim_args=()
  while [ "$1" != "--" ]; do sim_args+=("$1"); shift; done
  shift
  if ! start_sim "${sim_args[@]}"; then
    record "FAIL $label: the simulator printed no pty"
    cleanup
    return
  fi
  local out
  out="$("$py" "$HERE/peers.py" "$1" "$PTY" "${@:2}" 2>&1)"
  local rc=$?
  while IFS= read -r line; do
    case "$line" in
      ok*|FAIL*) record "$line" ;;
      *) echo "     $line" ;;
    esac
  done <<<"$out"
  if [ $rc -ne 0 ] && ! grep -q '^FAIL' <<<"$out"; then
    record "FAIL $label: peer exited $rc"
  fi
  stop_sim "$label"
}

venv dalybms dalybms==0.5.0 dalybms || record "FAIL install dalybms==0.5.0"
venv python-pylontech python-pylontech==0.3.3 pylontech || record "FAIL install python-pylontech==0.3.3"
venv vedirect-m8 vedirect-m8==1.3.4 vedirect_m8 || record "FAIL install vedirect-m8==1.3.4"
venv python-can python-can==4.6.1 can || record "FAIL install python-can==4.6.1"
venv npbcharger npbcharger==1.1.0 npbcharger || record "FAIL install npbcharger==1.1.0"
venv pymodbus pymodbus==3.16.1 pymodbus || record "FAIL install pymodbus==3.16.1"

peer dalybms "daly" daly -- daly
peer dalybms "daly --fault cell-overvoltage" daly --fault cell-overvoltage -- daly overvoltage
peer python-pylontech "pylontech-rs485 --modules 2" pylontech-rs485 --modules 2 -- pylontech 2
peer vedirect-m8 "vedirect-mppt" vedirect-mppt -- vedirect mppt
peer vedirect-m8 "vedirect-smartshunt" vedirect-smartshunt -- vedirect smartshunt
SIM_LISTEN=slcan-pty peer python-can "pylontech-can" pylontech-can -- pythoncan-pylontech
SIM_LISTEN=slcan-pty peer npbcharger "meanwell-npb" meanwell-npb -- npbcharger
peer pymodbus "lumentree" lumentree -- modbus lumentree 1
peer pymodbus "coulombmeter --address 7" coulombmeter --address 7 -- modbus coulombmeter 7
peer pymodbus "coulombmeter --fault bad-checksum" coulombmeter --fault bad-checksum -- modbus bad-checksum 1

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
