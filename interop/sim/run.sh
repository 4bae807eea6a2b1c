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
S2N_PID=""
S2N_DIR=""

cleanup() {
  if [ -n "$S2N_PID" ]; then kill "$S2N_PID" 2>/dev/null; wait "$S2N_PID" 2>/dev/null; fi
  S2N_PID=""
  [ -n "$S2N_DIR" ] && rm -rf "$S2N_DIR"
  S2N_DIR=""
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
# PEER_ATTEMPTS=N (default 1): for a peer with a hard real-time limit of its own (npbcharger
# waits 5 ms for each reply), run the whole check up to N times on a fresh simulator and record
# only the last attempt; the failed attempts are printed, not counted.
peer() {
  local py="$VENVS/$1/bin/python" label="$2"
  shift 2
  local sim_args=()
  while [ "$1" != "--" ]; do sim_args+=("$1"); shift; done
  shift
  local attempt=1 out rc
  while :; do
    if ! start_sim "${sim_args[@]}"; then
      record "FAIL $label: the simulator printed no pty"
      cleanup
      return
    fi
    out="$("$py" "$HERE/peers.py" "$1" "$PTY" "${@:2}" 2>&1)"
    rc=$?
    if [ $rc -eq 0 ] || [ "$attempt" -ge "${PEER_ATTEMPTS:-1}" ]; then break; fi
    echo "     attempt $attempt of $label failed (retrying on a fresh simulator):"
    sed 's/^/       /' <<<"$out"
    stop_sim "$label"
    attempt=$((attempt + 1))
  done
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

# peer_ser2net VENV LABEL SIM-ARGS... -- PEERS-ARGS...: like `peer`, but the peer reaches the
# simulator's pty through ser2net (a TCP console server); PEERS-ARGS get socket://HOST:PORT.
peer_ser2net() {
  local py="$VENVS/$1/bin/python" label="$2"
  shift 2
  local sim_args=()
  while [ "$1" != "--" ]; do sim_args+=("$1"); shift; done
  shift
  if ! command -v ser2net >/dev/null 2>&1; then
    record "FAIL $label: ser2net is not installed (apt-get install ser2net)"
    return
  fi
  if ! start_sim "${sim_args[@]}"; then
    record "FAIL $label: the simulator printed no pty"
    cleanup
    return
  fi
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  S2N_DIR="$(mktemp -d)"
  printf 'connection: &sim\n  accepter: tcp,127.0.0.1,%s\n  connector: serialdev,%s,115200n81,local\n' \
    "$port" "$PTY" >"$S2N_DIR/ser2net.yaml"
  ser2net -n -d -c "$S2N_DIR/ser2net.yaml" -P "$S2N_DIR/pid" >"$S2N_DIR/log" 2>&1 &
  S2N_PID=$!
  for _ in $(seq 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.1).close()' "$port" 2>/dev/null && break
    sleep 0.05
  done
  PTY="socket://127.0.0.1:$port"
  local out rc
  out="$("$py" "$HERE/peers.py" "$1" "$PTY" "${@:2}" 2>&1)"
  rc=$?
  while IFS= read -r line; do
    case "$line" in
      ok*|FAIL*) record "$line" ;;
      *) echo "     $line" ;;
    esac
  done <<<"$out"
  if [ $rc -ne 0 ] && ! grep -q '^FAIL' <<<"$out"; then
    record "FAIL $label: peer exited $rc"
  fi
  kill "$S2N_PID" 2>/dev/null; wait "$S2N_PID" 2>/dev/null
  S2N_PID=""
  rm -rf "$S2N_DIR"
  S2N_DIR=""
  stop_sim "$label"
}

venv dalybms dalybms==0.5.0 dalybms || record "FAIL install dalybms==0.5.0"
venv python-pylontech python-pylontech==0.3.3 pylontech || record "FAIL install python-pylontech==0.3.3"
venv vedirect-m8 vedirect-m8==1.3.4 vedirect_m8 || record "FAIL install vedirect-m8==1.3.4"
venv python-can python-can==4.6.1 can || record "FAIL install python-can==4.6.1"
venv npbcharger npbcharger==1.1.0 npbcharger || record "FAIL install npbcharger==1.1.0"
venv jkctl jkctl==0.2.0 jkctl || record "FAIL install jkctl==0.2.0"
# mppsolar pins paho-mqtt 1.6.1, hence its own venv; 0.16.56 is the 0.16.x checked here.
venv mppsolar mppsolar==0.16.56 mppsolar || record "FAIL install mppsolar==0.16.56"
venv pylontech pylontech==0.1.3 pylontech || record "FAIL install pylontech==0.1.3"
venv pymodbus pymodbus==3.16.1 pymodbus || record "FAIL install pymodbus==3.16.1"

peer dalybms "daly" daly -- daly
peer dalybms "daly --fault cell-overvoltage" daly --fault cell-overvoltage -- daly overvoltage
peer python-pylontech "pylontech-rs485 --modules 2" pylontech-rs485 --modules 2 -- pylontech 2
peer vedirect-m8 "vedirect-mppt" vedirect-mppt -- vedirect mppt
peer vedirect-m8 "vedirect-smartshunt" vedirect-smartshunt -- vedirect smartshunt
SIM_LISTEN=slcan-pty peer python-can "pylontech-can" pylontech-can -- pythoncan-pylontech
SIM_LISTEN=slcan-pty PEER_ATTEMPTS=2 peer npbcharger "meanwell-npb" meanwell-npb -- npbcharger
peer jkctl "jk-pb --cells 8 --soc 75 --address 3" jk-pb --cells 8 --soc 75 --address 3 -- jkctl-status 8 75 3
peer jkctl "jk-pb (defaults)" jk-pb -- jkctl-status 16 50 1
peer mppsolar "jk (mpp-solar)" jk -- mppsolar-jk
peer mppsolar "daly (mpp-solar)" daly -- mppsolar-daly
peer_ser2net pylontech "pylontech-rs485 --modules 2 (ser2net)" pylontech-rs485 --modules 2 -- pylontech-ser2net 2

# The reverse direction: jkctl simulates a JK-PB on one end of a socat pty pair, our client
# (apps/voltwire/examples/jk_pb_read.rs, on voltwire-runtime's Poller) reads the other end.
jkctl_simulate() {
  local reader dir out
  reader="$(dirname "$BIN")/examples/jk_pb_read"
  if [ ! -x "$reader" ]; then
    record "FAIL jkctl simulate: $reader missing (cargo build -p voltwire --example jk_pb_read)"
    return
  fi
  dir="$(mktemp -d)"
  socat PTY,raw,echo=0,link="$dir/A" PTY,raw,echo=0,link="$dir/B" 2>/dev/null &
  local socat_pid=$!
  for _ in $(seq 100); do [ -e "$dir/B" ] && break; sleep 0.02; done
  "$VENVS/jkctl/bin/jkctl" simulate --port "$dir/B" >"$dir/log" 2>&1 &
  local sim_pid=$!
  for _ in $(seq 100); do grep -q listening "$dir/log" && break; sleep 0.05; done
  out="$(timeout 20 "$reader" "serial://$dir/A?baud=115200" 1)"
  # jkctl's board 1 ("resting"): 16 cells, 52.8 V, -12.345 A, 87 %, 245 of 280 Ah, 28.5 C.
  local res
  res="$(python3 - "$out" <<'PY'

import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("FAIL jkctl simulate -> jk_pb_read: JSON output", repr(sys.argv[1][:200]))
    sys.exit()
tag = "jkctl simulate -> jk_pb_read"
for what, ok in [
    ("16 cells", d["cell_count"] == 16 and d["cell_voltages_v"][0] == 3.301 and d["cell_voltages_v"][15] == 3.293),
    ("pack 52.8 V", d["pack_voltage_v"] == 52.8),
    ("current -12.345 A", d["current_a"] == -12.345),
    ("SOC 87 %", d["soc_pct"] == 87),
    ("245 of 280 Ah", d["remaining_capacity_ah"] == 245 and d["full_charge_capacity_ah"] == 280),
    ("MOS 28.5 C, T1/T2 24.0/24.5 C", d["mosfet_temperature_c"] == 28.5 and d["temperature_1_c"] == 24.0 and d["temperature_2_c"] == 24.5),
    ("MOSFETs on, no alarms", d["charge_mos"] is True and d["discharge_mos"] is True and d["alarms"] == {"raw": 0, "flags": []}),
]:
    print(("ok  " if ok else "FAIL"), f"{tag}: {what}", "" if ok else d)
PY
)"
  # At least 7 checks (one per line above): a reader that checked less fails.
  local made
  made="$(grep -c '^\(ok\|FAIL\)' <<<"$res")"
  if [ "$made" -ge 7 ]; then
    record "ok   jkctl simulate -> jk_pb_read: $made checks made, at least 7"
  else
    record "FAIL jkctl simulate -> jk_pb_read: $made checks made, at least 7"
  fi
  while IFS= read -r line; do record "$line"; done <<<"$res"
  kill "$sim_pid" "$socat_pid" 2>/dev/null
  wait "$sim_pid" "$socat_pid" 2>/dev/null
  rm -rf "$dir"
}
jkctl_simulate
peer pymodbus "lumentree" lumentree -- modbus lumentree 1
peer pymodbus "coulombmeter --address 7" coulombmeter --address 7 -- modbus coulombmeter 7
peer pymodbus "coulombmeter --fault bad-checksum" coulombmeter --fault bad-checksum -- modbus bad-checksum 1

# The grid meter: curl (HTTP, Shelly paths) and paho-mqtt (its topics) against
# `voltwire sim meter`, with a Mosquitto of our own on a free loopback port.
meter_peer() {
  local dir port mpid out rc
  dir="$(mktemp -d)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$dir/m.conf"
  mosquitto -c "$dir/m.conf" 2>"$dir/m.log" &
  mpid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  SIM_OUT="$(mktemp)"
  "$BIN" sim meter --listen http://127.0.0.1:0 --load 1000 --pv 300 --load-profile constant \
    --mqtt "mqtt://127.0.0.1:$port" --topic voltwire-meter --interval-ms 200 >"$SIM_OUT" &
  SIM_PID=$!
  local url=""
  for _ in $(seq 100); do
    url="$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listening"])' "$SIM_OUT" 2>/dev/null)" && [ -n "$url" ] && break
    sleep 0.05
  done
  if [ -z "$url" ]; then
    record "FAIL meter: the simulator printed no address"
  else
    out="$("$VENVS/paho-mqtt/bin/python" "$HERE/peers.py" meter "$url" "$port" voltwire-meter 2>&1)"
    rc=$?
    while IFS= read -r line; do
      case "$line" in
        ok*|FAIL*) record "$line" ;;
        *) echo "     $line" ;;
      esac
    done <<<"$out"
    if [ $rc -ne 0 ] && ! grep -q '^FAIL' <<<"$out"; then record "FAIL meter: peer exited $rc"; fi
  fi
  stop_sim "meter"
  kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
  rm -rf "$dir"
}

venv paho-mqtt paho-mqtt==2.2.0 paho || record "FAIL install paho-mqtt==2.2.0"
meter_peer

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
