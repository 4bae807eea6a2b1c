#!/usr/bin/env python3
"""Interop: python-pylontech 0.3.3 (an independent inverter-side implementation) decodes the
frames our slave role emits.

Starts a socat pty pair, runs crates/pylontech/examples/rs485_slave on one end and drives
python-pylontech on the other. High-level calls (0x42 single/all, 0x47, 0x4F, 0x51, 0x92,
0x93) go through python-pylontech's own parsers; they read until '\\n', which a real battery
never sends, so each waits its 2 s timeout (about 14 s in all). For commands it has no
parser for (0x44, 0x60-0x63) we use its frame layer (`send_cmd`, checksum check in
`_decode_hw_frame`, `_decode_frame`) reading up to CR, and decode INFO here.

Usage: python test_interop.py [PATH_TO_rs485_slave]   (exit status 0 = pass)
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

from pylontech import Pylontech

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLAVE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "examples", "rs485_slave")

FAILURES = []
CHECKS = 0
# A full run makes this many checks; fewer means one was skipped (e.g. an empty cell list
# turning the per-cell loop into nothing) and fails the run.
MIN_CHECKS = 116


def check(what, got, want, tol=1e-6):
    global CHECKS
    CHECKS += 1
    ok = abs(got - want) <= tol if isinstance(want, float) else got == want
    print(("ok  " if ok else "FAIL"), what, got, "" if ok else f"(want {want})")
    if not ok:
        FAILURES.append(what)


def raw(p, adr, cid2, info=b""):
    """One exchange through python-pylontech's frame layer, reading up to CR."""
    p.send_cmd(adr, cid2, info)
    frame = p.s.read_until(b"\r")
    f = p._decode_frame(p._decode_hw_frame(raw_frame=frame))
    check(f"0x{cid2:02X} RTN", f.cid2, b"\x00")
    return f


def module_checks(name, m, adr):
    base = 3.300 if adr == 2 else 3.310
    check(f"{name} cells", m.NumberOfCells, 15)
    for i, v in enumerate(m.CellVoltages):
        check(f"{name} cell {i + 1} V", v, round(base + 0.002 * i, 3))
    check(f"{name} BMS temp C", m.AverageBMSTemperature, 25.0)
    check(f"{name} group temps C", list(m.GroupedCellsTemperatures), [24.0, 24.5, 25.5, 26.0])
    check(f"{name} current A", m.Current, -2.6 if adr == 2 else 1.5)
    check(f"{name} voltage V", m.Voltage, round(sum(base + 0.002 * i for i in range(15)), 3))
    check(f"{name} cycles", m.CycleNumber, 31 if adr == 2 else 7)
    check(f"{name} remaining Ah", m.RemainingCapacity, 74.0 if adr == 2 else 33.5)
    check(f"{name} total Ah", m.TotalCapacity, 100.0 if adr == 2 else 50.0)


def main():
    tmp = tempfile.mkdtemp(prefix="pyl-interop-")
    a, b = os.path.join(tmp, "ttyA"), os.path.join(tmp, "ttyB")
    socat = subprocess.Popen(["socat", f"PTY,raw,echo=0,link={a}", f"PTY,raw,echo=0,link={b}"])
    slave = None
    try:
        for _ in range(200):
            if os.path.exists(a) and os.path.exists(b):
                break
            time.sleep(0.01)
        slave = subprocess.Popen([SLAVE, a])
        time.sleep(0.2)
        p = Pylontech(b, 115200)

        v = p.get_values_single(2)
        check("0x42 single: module", v.NumberOfModule, 2)
        module_checks("0x42 single", v, 2)

        v = p.get_values()
        check("0x42 all: modules", v.NumberOfModules, 2)
        module_checks("0x42 all m2", v.Module[0], 2)
        module_checks("0x42 all m3", v.Module[1], 3)

        s = p.get_system_parameters()
        check("0x47 cell high V", s.CellHighVoltageLimit, 3.65)
        check("0x47 cell under V", s.CellUnderVoltageLimit, 2.8)
        check("0x47 charge high C", s.ChargeHighTemperatureLimit, 60.0)
        check("0x47 charge low C", s.ChargeLowTemperatureLimit, -10.0)
        check("0x47 charge limit A", s.ChargeCurrentLimit, 100.0)
        check("0x47 module high V", s.ModuleHighVoltageLimit, 54.0)
        check("0x47 discharge limit A", s.DischargeCurrentLimit, -100.0)

        m = p.get_management_info(2)
        check("0x92 charge V", m.ChargeVoltageLimit, 53.25)
        check("0x92 discharge V", m.DischargeVoltageLimit, 45.0)
        check("0x92 charge A", m.ChargeCurrentLimit, 50.0)
        check("0x92 discharge A", m.DischargeCurrentLimit, -75.0)
        check("0x92 charge enable", m.status.ChargeEnable, True)
        check("0x92 discharge enable", m.status.DischargeEnable, True)
        check("0x92 full charge request", m.status.FullChargeRequest, False)

        sn = p.get_module_serial_number(3)
        check("0x93 command", sn.CommandValue, 3)
        check("0x93 serial", sn.ModuleSerialNumber, b"VWSIM00000000003")

        mi = p.get_manufacturer_info()
        check("0x51 device", mi.DeviceName.rstrip(b"\0"), b"US2000C")
        check("0x51 manufacturer", mi.ManufacturerName.rstrip(b"\0"), b"PYLON")
        check("0x51 version", list(mi.SoftwareVersion), [1, 2])

        f = p.get_protocol_version()
        check("0x4F VER", f.ver, b"\x20")
        check("0x4F ADR echoed", f.adr, b"\x00")

        f = raw(p, 2, 0x44, b"02")
        info = f.info
        check("0x44 command", info[1], 2)
        check("0x44 cells", info[2], 15)
        check("0x44 temps", info[18], 5)
        check("0x44 status2", info[28], 0x06)

        f = raw(p, 2, 0x60)
        check("0x60 name", f.info[0:10].rstrip(b"\0"), b"US2000C")
        check("0x60 manufacturer", f.info[10:30].rstrip(b"\0"), b"PYLON")
        check("0x60 modules", f.info[32], 2)
        check("0x60 serial", f.info[33:49], b"VWSIM00000000002")

        f = raw(p, 2, 0x61)
        check("0x61 length", len(f.info), 49)
        volt, cur, soc = struct.unpack(">HhB", f.info[0:5])
        check("0x61 voltage V", volt / 1000, 49.905)
        check("0x61 current A (10 mA)", cur / 100, -1.1)
        check("0x61 SOC", soc, 72)
        check("0x61 avg cell temp C", (struct.unpack(">H", f.info[19:21])[0] - 2731) / 10, 25.0)

        f = raw(p, 2, 0x62)
        check("0x62 bytes", f.info, b"\0\0\0\0")

        f = raw(p, 2, 0x63)
        cv, dv, cc, dc, st = struct.unpack(">HHhhB", f.info)
        check("0x63 charge V", cv / 1000, 53.25)
        check("0x63 discharge V", dv / 1000, 45.0)
        check("0x63 charge A (100 mA)", cc / 10, 50.0)
        check("0x63 discharge A (100 mA, negative)", dc / 10, -75.0)
        check("0x63 status", st, 0xC0)
    finally:
        if slave:
            slave.terminate()
        socat.terminate()
    if CHECKS < MIN_CHECKS:
        print(f"FAIL only {CHECKS} checks made, at least {MIN_CHECKS}", file=sys.stderr)
        sys.exit(1)
    if FAILURES:
        print(f"{len(FAILURES)} checks failed", file=sys.stderr)
        sys.exit(1)
    print(f"all {CHECKS} checks passed (at least {MIN_CHECKS})")


main()
