#!/usr/bin/env python3
"""Interop: python-can's `slcan` interface plays a BMS into `can-gateway` and an inverter
reading its output, over two socat pty pairs.

    BMS (python-can, PTY_A2) <-pty-> PTY_A1 = can-gateway input  slcan://PTY_A1?handshake=none
    inverter (python-can, PTY_B2) <-pty-> PTY_B1 = can-gateway output slcan://PTY_B1?handshake=none

Two SLCAN hosts face each other on each pair, so the gateway skips the adapter open sequence
(`handshake=none`) and ignores python-can's (`C`, `S6`, `O` lines are not frames).

The BMS sends a Pylontech telegram (0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E, encoded by hand
per docs/protocols/pylontech-can.md) every second. The inverter sends the keep-alive 0x305
every second; the output is in `sync` mode with a 5 s interval, so a burst within 0.5 s of a
0x305 is the gateway's answer. The inverter decodes each burst and checks CVL / CCL / DCL
against the output's scaling (current_scale 0.5, own limits 30 A charge and 56.0 V), SOC,
SOH, measurements, flags and the manufacturer text. Then the BMS stops; within its
`timeout_s` (2 s) plus a tick and one keep-alive, the inverter must see charge and discharge
disabled with zero current limits (`no_input = "safe"`). Finally SIGTERM must end the gateway
with status 0.

Usage: test_interop.py PATH/TO/can-gateway   (interop/can-gateway/run.sh builds it)
Prints one ok/FAIL line per check and "N passed, M failed"; exits 1 on any failure.
"""

import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import can

# What the BMS reports (wire units per docs/protocols/pylontech-can.md).
CVL_DV, CCL_DA, DCL_DA, DVL_DV = 568, 800, 1000, 480  # 56.8 V, 80 A, 100 A, 48.0 V
SOC, SOH = 77, 99
VOLT_CV, CURR_DA, TEMP_DC = 5310, -50, 234  # 53.10 V, -5.0 A (discharging), 23.4 °C
FLAGS_ENABLED = 0xC0  # charge enable 0x80 | discharge enable 0x40

# What the inverter must see: scale 0.5, own 30 A charge and 56.0 V limits.
WANT_CVL, WANT_CCL, WANT_DCL = 560, 300, 500  # min(56.8, 56.0) V; min(40, 30) A; 50 A

CONFIG = """
[gateway]
fault_policy = "exclude"
no_input = "safe"
recovery_hold_s = 0
current_rule = "sum"
max_charge_current_a = 200
max_discharge_current_a = 200
tick_ms = 100

[[input]]
name = "bms"
bus = "slcan://{a1}?handshake=none"
capacity_ah = 100
timeout_s = 2

[[output]]
name = "inverter"
bus = "slcan://{b1}?handshake=none"
mode = "sync"
interval_ms = 5000
min_delay_ms = 100
current_scale = 0.5
max_charge_current_a = 30
max_charge_voltage_v = 56.0
manufacturer = "PYLON"
"""

RESULTS = {"passed": 0, "failed": 0}


def check(ok: bool, what: str) -> bool:
    print(f"{'ok' if ok else 'FAIL'}: {what}", flush=True)
    RESULTS["passed" if ok else "failed"] += 1
    return ok


def wait_for(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.01)


def bms_telegram() -> list:
    def msg(i: int, data: bytes) -> can.Message:
        return can.Message(arbitration_id=i, is_extended_id=False, data=data)

    return [
        msg(0x359, bytes([0, 0, 0, 0, 1]) + b"PN" + b"\x00"),
        msg(0x351, struct.pack("<HhhH", CVL_DV, CCL_DA, DCL_DA, DVL_DV)),
        msg(0x355, struct.pack("<HH", SOC, SOH)),
        msg(0x356, struct.pack("<hhh", VOLT_CV, CURR_DA, TEMP_DC)),
        msg(0x35C, bytes([FLAGS_ENABLED, 0])),
        msg(0x35E, b"PYLON   "),
    ]


class Bms(threading.Thread):
    """Sends the telegram every second until stopped."""

    def __init__(self, bus: can.BusABC) -> None:
        super().__init__(daemon=True)
        self.bus = bus
        self.stop = threading.Event()
        self.sent = 0
        self.error = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for m in bms_telegram():
                    self.bus.send(m)
                self.sent += 1
                self.stop.wait(1.0)
        except Exception as exc:  # reported by the main thread
            self.error = exc


class Inverter:
    """Sends 0x305 every second; collects bursts (0x359 starts one)."""

    def __init__(self, bus: can.BusABC) -> None:
        self.bus = bus
        self.last_poll = 0.0
        self.burst = None
        self.burst_start = 0.0

    def poll(self) -> None:
        self.bus.send(can.Message(arbitration_id=0x305, is_extended_id=False, data=bytes(8)))
        self.last_poll = time.monotonic()

    def next_burst(self, timeout: float):
        """(seconds from the last 0x305 to the burst's 0x359, {id: data}) or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if time.monotonic() - self.last_poll >= 1.0:
                self.poll()
            msg = self.bus.recv(timeout=0.05)
            if msg is None or msg.is_extended_id or msg.is_remote_frame:
                continue
            if msg.arbitration_id == 0x359:
                self.burst = {}
                self.burst_start = time.monotonic()
            if self.burst is None:
                continue
            self.burst[msg.arbitration_id] = bytes(msg.data)
            if msg.arbitration_id == 0x35E:
                done, self.burst = self.burst, None
                return self.burst_start - self.last_poll, done
        return None


def decode(b: dict) -> dict:
    cvl, ccl, dcl = struct.unpack_from("<Hhh", b[0x351])
    soc, soh = struct.unpack_from("<HH", b[0x355])
    volt, curr, temp = struct.unpack_from("<hhh", b[0x356])
    prot, warn = struct.unpack_from("<HH", b[0x359])
    return {
        "cvl": cvl, "ccl": ccl, "dcl": dcl, "soc": soc, "soh": soh,
        "volt": volt, "curr": curr, "temp": temp, "prot": prot, "warn": warn,
        "flags": b[0x35C][0], "name": b[0x35E].rstrip(b"\x00 ").decode("ascii", "replace"),
    }


def run(binary: str) -> None:
    assert shutil.which("socat"), "socat is not installed"
    tmp = Path(tempfile.mkdtemp(prefix="can-gateway-interop-"))
    a1, a2, b1, b2 = (tmp / n for n in ("ttyA1", "ttyA2", "ttyB1", "ttyB2"))
    procs = []
    buses = []
    bms = None
    log = open(tmp / "gateway.log", "w+")
    try:
        for x, y in ((a1, a2), (b1, b2)):
            procs.append(subprocess.Popen(
                ["socat", f"PTY,raw,echo=0,link={x}", f"PTY,raw,echo=0,link={y}"],
                stderr=subprocess.DEVNULL))
        for p in (a1, a2, b1, b2):
            wait_for(p)
        cfg = tmp / "gateway.toml"
        cfg.write_text(CONFIG.format(a1=a1, b1=b1))
        gateway = subprocess.Popen([binary, "--config", str(cfg), "-v"],
                                   stdout=subprocess.DEVNULL, stderr=log)
        procs.insert(0, gateway)

        bms_bus = can.Bus(interface="slcan", channel=str(a2), bitrate=500000, sleep_after_open=0)
        buses.append(bms_bus)
        inv_bus = can.Bus(interface="slcan", channel=str(b2), bitrate=500000, sleep_after_open=0)
        buses.append(inv_bus)
        bms = Bms(bms_bus)
        bms.start()
        inv = Inverter(inv_bus)

        # The first bursts may be the safe state (no telegram yet): wait for an enabled one.
        got = None
        answers = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = inv.next_burst(max(0.1, deadline - time.monotonic()))
            if r is None:
                break
            answers.append(r[0])
            if r[1][0x35C][0] & FLAGS_ENABLED:
                got = r
                break
        if not check(got is not None,
                     f"inverter decoded an enabled burst within 10 s ({bms.sent} BMS telegrams sent)"):
            raise RuntimeError("no usable output; gateway log:\n" + (tmp / "gateway.log").read_text())
        # One more, to see a steady-state answer to a keep-alive.
        r = inv.next_burst(3.0)
        check(r is not None and 0 <= r[0] < 0.5,
              f"gateway answers the inverter's 0x305 within 0.5 s "
              f"(sync mode, interval 5 s): {None if r is None else round(r[0] * 1000)} ms")
        d = decode((r or got)[1])
        check(d["cvl"] == WANT_CVL, f"CVL {d['cvl'] / 10} V == min(BMS 56.8, output 56.0) V")
        check(d["ccl"] == WANT_CCL, f"CCL {d['ccl'] / 10} A == min(80 A x 0.5, own 30 A)")
        check(d["dcl"] == WANT_DCL, f"DCL {d['dcl'] / 10} A == 100 A x 0.5")
        check(d["soc"] == SOC and d["soh"] == SOH, f"SOC {d['soc']} % / SOH {d['soh']} % passed through")
        check((d["volt"], d["curr"], d["temp"]) == (VOLT_CV, CURR_DA, TEMP_DC),
              f"0x356 {d['volt'] / 100} V, {d['curr'] / 10} A, {d['temp'] / 10} °C passed through (current unscaled)")
        check(d["flags"] & 0xC0 == 0xC0, f"0x35C 0x{d['flags']:02X}: charge and discharge enabled")
        check(d["prot"] == 0 and d["warn"] == 0, "0x359 no protection or warning flags")
        check(d["name"] == "PYLON", f"0x35E manufacturer {d['name']!r}")

        # Stop the BMS: the gateway must go to the safe state.
        bms.stop.set()
        bms.join(timeout=3)
        check(bms.error is None, f"BMS sent {bms.sent} telegrams without error ({bms.error})")
        stopped = time.monotonic()
        safe_after = None
        last = None
        while time.monotonic() - stopped < 8:
            r = inv.next_burst(max(0.1, 8 - (time.monotonic() - stopped)))
            if r is None:
                break
            last = decode(r[1])
            if last["flags"] & 0xC0 == 0 and last["ccl"] == 0 and last["dcl"] == 0:
                safe_after = time.monotonic() - stopped
                break
        check(safe_after is not None and 1.0 <= safe_after <= 4.5,
              f"after the BMS stopped the inverter sees charge/discharge disabled and "
              f"CCL = DCL = 0 after its timeout (2 s after the last telegram, 1 to 4.5 s after the stop): "
              f"{'never' if safe_after is None else f'{safe_after:.1f} s'} (last {last})")

        gateway.terminate()
        try:
            rc = gateway.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, f"can-gateway exits 0 on SIGTERM (status {rc})")
    finally:
        if bms is not None:
            bms.stop.set()
            bms.join(timeout=3)
        for b in buses:
            b.shutdown()
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: test_interop.py PATH/TO/can-gateway", file=sys.stderr)
        return 2
    try:
        run(sys.argv[1])
    except Exception as exc:  # report and fail
        check(False, f"{type(exc).__name__}: {exc}")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
