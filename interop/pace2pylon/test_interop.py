#!/usr/bin/env python3
"""Interop: python-pylontech 0.3.3 polls pace2pylon's inverter side.

A socat pty pair; `pace2pylon --demo --inverter serial://<A>?baud=115200` (the scene
examples/scenes/pace2pylon.toml: 12 simulated Pace packs of 8 cells at 70 % discharging 3 kW,
answering the configuration reads 0xD5-0xDB with 105 A over-current protection (1.05 C of
100 Ah), pack12 set by hand to 80 A for charging; share 80 %; SOC from the scene's coulomb
meter) on one end, python-pylontech on the other. It must read, through its own parsers, the
merged battery as one module (0x42: two cells = lowest and highest), the limits (0x92:
(11 x 105 + 80) A x 80 % = 988 A charge, 12 x 105 A x 80 % = 1008 A sent negative for
discharge, 27.35 V, 22.4 V, both enables on), and through its frame layer 0x61 and 0x63
agreeing with them.

Usage: python test_interop.py PATH_TO_pace2pylon   (exit status 0 = pass)
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

from pylontech import Pylontech

BIN = sys.argv[1]
FAILURES = []
CHECKS = 0
MIN_CHECKS = 20


def check(what, got, want, tol=1e-6):
    global CHECKS
    CHECKS += 1
    if callable(want):
        ok = want(got)
    elif isinstance(want, float):
        ok = abs(got - want) <= tol
    else:
        ok = got == want
    print(("ok  " if ok else "FAIL"), what, got, "" if ok else f"(want {want})")
    if not ok:
        FAILURES.append(what)


def raw(p, adr, cid2, info=b""):
    p.send_cmd(adr, cid2, info)
    frame = p.s.read_until(b"\r")
    f = p._decode_frame(p._decode_hw_frame(raw_frame=frame))
    check(f"0x{cid2:02X} RTN", f.cid2, b"\x00")
    return f


def main():
    tmp = tempfile.mkdtemp(prefix="p2p-interop-")
    a, b = os.path.join(tmp, "ttyA"), os.path.join(tmp, "ttyB")
    socat = subprocess.Popen(["socat", f"PTY,raw,echo=0,link={a}", f"PTY,raw,echo=0,link={b}"])
    app = None
    try:
        for _ in range(200):
            if os.path.exists(a) and os.path.exists(b):
                break
            time.sleep(0.01)
        app = subprocess.Popen([BIN, "--demo", "--duration", "120", "--web-port", "0", "--inverter", f"serial://{a}?baud=115200"],
                               stdout=subprocess.DEVNULL)
        # The supervisor enables after the first readings and its 5 s recovery hold.
        time.sleep(11)
        p = Pylontech(b, 115200)

        m = p.get_management_info(2)
        check("0x92 charge V", m.ChargeVoltageLimit, 27.35)
        check("0x92 discharge V", m.DischargeVoltageLimit, 22.4)
        check("0x92 charge A", m.ChargeCurrentLimit, 988.0)
        check("0x92 discharge A", m.DischargeCurrentLimit, -1008.0)
        check("0x92 charge enable", m.status.ChargeEnable, True)
        check("0x92 discharge enable", m.status.DischargeEnable, True)

        v = p.get_values_single(2)
        check("0x42 single: module", v.NumberOfModule, 2)
        check("0x42 cells (lowest, highest)", v.NumberOfCells, 2)
        lo, hi = v.CellVoltages[0], v.CellVoltages[1]
        check("0x42 lowest <= highest cell", lo <= hi, True)
        check("0x42 cell plausible", lo, lambda x: 3.0 < x < 3.6)
        check("0x42 voltage plausible (8S)", v.Voltage, lambda x: 24.0 < x < 28.8)
        check("0x42 current A (discharging 3 kW)", v.Current, lambda x: -130.0 < x < -90.0)

        f = raw(p, 2, 0x61)
        volt, cur, soc = struct.unpack(">HhB", f.info[0:5])
        check("0x61 voltage = 0x42 voltage", volt / 1000, v.Voltage, 0.0015)
        # 0x42 carries 0.1 A steps (rounded to the nearest), 0x61 10 mA; the bank discharges
        # between the two reads, so cells may move by a millivolt.
        check("0x61 current = 0x42 current", cur / 100, v.Current, 0.06)
        check("0x61 SOC (the meter, 70 % at the start)", soc, lambda x: 68 <= x <= 70)
        check("0x61 max cell = 0x42 highest", struct.unpack(">H", f.info[11:13])[0] / 1000, hi, 0.0015)
        check("0x61 min cell = 0x42 lowest", struct.unpack(">H", f.info[15:17])[0] / 1000, lo, 0.0015)

        f = raw(p, 2, 0x63)
        cv, dv, cc, dc, st = struct.unpack(">HHhhB", f.info)
        check("0x63 charge V", cv / 1000, 27.35)
        check("0x63 discharge V", dv / 1000, 22.4)
        check("0x63 charge A", cc / 10, 988.0)
        check("0x63 discharge A (negative)", dc / 10, -1008.0)
        check("0x63 status", st, 0xC0)

        fv = p.get_protocol_version()
        check("0x4F VER", fv.ver, b"\x20")
    finally:
        if app:
            app.terminate()
        socat.terminate()
    if CHECKS < MIN_CHECKS:
        print(f"FAIL only {CHECKS} checks made, at least {MIN_CHECKS}", file=sys.stderr)
        sys.exit(1)
    if FAILURES:
        print(f"{len(FAILURES)} checks failed", file=sys.stderr)
        sys.exit(1)
    print(f"all {CHECKS} checks passed")


main()
