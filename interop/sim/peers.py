#!/usr/bin/env python3
"""One peer against one `voltwire sim` pty. Run by run.sh, each in the peer's own venv.

Usage: peers.py daly PTY [overvoltage] | pylontech PTY MODULES | vedirect PTY mppt|smartshunt
       | jkctl-status PTY CELLS SOC ADDRESS | mppsolar-jk PTY | mppsolar-daly PTY
       | pylontech-ser2net URL MODULES

Prints one `ok  <check>` / `FAIL <check>` line per check; exit status 1 if any failed.
"""
import json
import os
import subprocess
import sys
import time

FAILED = 0


def check(what, ok, detail=""):
    global FAILED
    print(("ok  " if ok else "FAIL"), what, "" if ok else detail, flush=True)
    if not ok:
        FAILED += 1


def daly(pty, fault=None):
    """dalybms 0.5.0, through its own command line (`daly-bms-cli -d PTY --all`)."""
    cli = os.path.join(os.path.dirname(sys.executable), "daly-bms-cli")
    r = subprocess.run([cli, "-d", pty, "--all"], capture_output=True, text=True, timeout=60)
    tag = f"dalybms --all{' (' + fault + ')' if fault else ''}"
    check(f"{tag}: exit 0", r.returncode == 0, r.stderr[-500:])
    try:
        d = json.loads(r.stdout)
    except ValueError as e:
        check(f"{tag}: JSON output", False, f"{e}: {r.stdout[:300]!r}")
        return
    st, soc = d.get("status", {}), d.get("soc", {})
    cells = d.get("cell_voltages", {})
    check(f"{tag}: 16 cells", st.get("cells") == 16 and len(cells) == 16, f"{st} {cells}")
    check(f"{tag}: 4 temperatures", len(d.get("temperatures", {})) == 4, d.get("temperatures"))
    check(f"{tag}: SOC 45..50 %", 45 <= soc.get("soc_percent", -1) <= 50, soc)
    v = soc.get("total_voltage", 0)
    check(f"{tag}: pack voltage = sum of cells ± 0.1 V",
          abs(v - sum(cells.values())) <= 0.1 and 48 <= v <= 55.2, f"{v} {cells}")
    # Our sim discharges 500 W by default: ~9.5 A out.
    check(f"{tag}: |current| ~ 500 W / V", abs(abs(soc.get("current", 0)) - 500 / v) < 0.3, soc)
    check(f"{tag}: mode discharging", d.get("mosfet_status", {}).get("mode") == "discharging",
          d.get("mosfet_status"))
    if fault == "overvoltage":
        rng = d.get("cell_voltage_range", {})
        check(f"{tag}: highest cell 3.8 V", rng.get("highest_voltage") == 3.8, rng)
        check(f"{tag}: failure flags reported", len(d.get("errors", [])) > 0, d.get("errors"))
    else:
        check(f"{tag}: no failures", d.get("errors") == [], d.get("errors"))


def pylontech(pty, modules):
    """python-pylontech 0.3.3: 0x42 of each module (each call waits its 2 s timeout)."""
    from pylontech import Pylontech
    p = Pylontech(pty, 115200)
    for adr in range(2, 2 + modules):
        tag = f"python-pylontech get_values_single({adr})"
        try:
            d = p.get_values_single(adr)
        except Exception as e:  # noqa: BLE001 - any failure is a FAIL line
            check(tag, False, repr(e))
            continue
        cells = list(d.CellVoltages)
        check(f"{tag}: 15 cells", d.NumberOfCells == 15 and len(cells) == 15, d)
        check(f"{tag}: cells 3.0..3.45 V", all(3.0 <= c <= 3.45 for c in cells), cells)
        check(f"{tag}: voltage = sum of cells ± 0.05 V",
              abs(d.Voltage - sum(cells)) <= 0.05, (d.Voltage, sum(cells)))
        check(f"{tag}: SOC 45..50 %",
              45 <= 100 * d.RemainingCapacity / d.TotalCapacity <= 50,
              (d.RemainingCapacity, d.TotalCapacity))
        check(f"{tag}: discharging", d.Current < 0, d.Current)
        temps = [d.AverageBMSTemperature] + list(d.GroupedCellsTemperatures)
        check(f"{tag}: temperatures ~25 °C", all(20 <= t <= 30 for t in temps), temps)


def vedirect(pty, kind):
    """vedirect-m8 1.3.4: decode the TEXT stream byte by byte, checksums verified."""
    import termios
    import tty
    from vedirect_m8.vedirect import Vedirect
    ve = Vedirect(serial_conf={"serial_port": None}, auto_start=False, max_packet_blocks=None)
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    a = termios.tcgetattr(fd)
    a[6][termios.VMIN], a[6][termios.VTIME] = 0, 1
    termios.tcsetattr(fd, termios.TCSANOW, a)
    termios.tcflush(fd, termios.TCIFLUSH)
    packets, end = [], time.monotonic() + 3.5
    while time.monotonic() < end:
        for b in os.read(fd, 4096):
            pkt = ve.input_read(bytes([b]))
            if pkt is not None:
                packets.append(dict(pkt))
    os.close(fd)
    tag = f"vedirect-m8 {kind}"
    # The first block may be cut by the flush; 3.5 s give 3 whole ones.
    check(f"{tag}: >= 2 checksum-verified blocks", len(packets) >= 2, len(packets))
    if not packets:
        return
    last = packets[-1]
    pid = {"mppt": "0xA060", "smartshunt": "0xA389"}[kind]
    check(f"{tag}: PID {pid}", last.get("PID") == pid, last)
    v = int(last.get("V", "0"))
    check(f"{tag}: V 48..56 V", 48_000 <= v <= 56_000, v)
    if kind == "mppt":
        check(f"{tag}: PPV 400 W", last.get("PPV") == "400", last)
        check(f"{tag}: I > 0 (charging)", int(last.get("I", "0")) > 0, last)
    else:
        check(f"{tag}: SOC 45..50 %", 450 <= int(last.get("SOC", "-1")) <= 500, last)
        check(f"{tag}: I < 0 (discharging)", int(last.get("I", "0")) < 0, last)
        check(f"{tag}: P = V*I ± 2 W",
              abs(int(last["P"]) - v * int(last["I"]) / 1e6) <= 2, last)


def run_json(args, tag, timeout=60):
    """Run a peer's command line; its stdout parsed as JSON (None on failure, with a FAIL)."""
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    check(f"{tag}: exit 0", r.returncode == 0, r.stderr[-500:])
    try:
        return json.loads(r.stdout[r.stdout.index("{"):])
    except ValueError as e:
        check(f"{tag}: JSON output", False, f"{e}: {r.stdout[:300]!r}")
        return None


def jkctl_status(pty, cells, soc, address):
    """jkctl 0.2.0 (FC 0x03 register reads) against `voltwire sim jk-pb`."""
    cells, soc, address = int(cells), int(soc), int(address)
    cli = os.path.join(os.path.dirname(sys.executable), "jkctl")
    base = ["--port", pty, "--id", str(address), "--json"]
    tag = f"jkctl status --id {address}"
    st = run_json([cli, "status"] + base, tag)
    if st is not None:
        check(f"{tag}: SOC {soc} %", st.get("socRelativeStateOfCharge") == soc, st)
        v = st.get("batVol", 0)
        check(f"{tag}: pack voltage {cells} x 3.0..3.45 V", 3.0 * cells <= v <= 3.45 * cells, v)
        check(f"{tag}: |current| ~ 500 W / V", abs(abs(st.get("batCurrent", 0)) - 500 / v) < 0.3, st)
        check(f"{tag}: discharging", st.get("batCurrent", 0) < 0, st.get("batCurrent"))
        check(f"{tag}: MOS temperature ~25 C", 20 <= st.get("tempMos", 0) <= 30, st.get("tempMos"))
        check(f"{tag}: MOSFETs on, no alarms",
              st.get("chargeStatus") == 1 and st.get("dischargeStatus") == 1 and st.get("alarms") == [],
              st)
    tag = f"jkctl cells --id {address}"
    ce = run_json([cli, "cells"] + base, tag)
    if ce is not None and st is not None:
        volts = [c.get("voltage_v", 0) for c in ce.get("cells", [])]
        check(f"{tag}: {cells} cells", len(volts) == cells, volts)
        check(f"{tag}: cells 3.0..3.45 V", all(3.0 <= c <= 3.45 for c in volts), volts)
        check(f"{tag}: pack voltage = sum of cells +- 0.01 V",
              abs(sum(volts) - st.get("batVol", 0)) <= 0.01, (sum(volts), st.get("batVol")))
    info = run_json([cli, "info"] + base, f"jkctl info --id {address}")
    if info is not None:
        check(f"jkctl info --id {address}: model", info.get("model") == "JK_PB2A16S20P", info)


def mppsolar_jk(pty):
    """mpp-solar 0.16.x, JK "4E 57" (its decoder is positional: 16 cells only)."""
    cli = os.path.join(os.path.dirname(sys.executable), "mpp-solar")
    tag = "mpp-solar JKSERIAL getBalancerData"
    d = run_json([cli, "-p", pty, "--porttype", "JKSERIAL", "-P", "jkserial", "-b", "115200",
                  "-c", "getBalancerData", "-o", "json"], tag)
    if d is None:
        return
    volts = [d.get(f"voltage_cell{i:02d}", 0) for i in range(1, 17)]
    check(f"{tag}: 16 cells", d.get("cells_connected") == 16, d)
    check(f"{tag}: cells 3.0..3.45 V", all(3.0 <= c <= 3.45 for c in volts), volts)
    v = d.get("battery_voltage", 0)
    check(f"{tag}: pack voltage = sum of cells +- 0.02 V", abs(v - sum(volts)) <= 0.02, (v, sum(volts)))
    check(f"{tag}: SOC 45..50 %", 45 <= d.get("percent_remain", -1) <= 50, d)
    check(f"{tag}: current ~ -500 W / V", abs(d.get("battery_current", 0) + 500 / v) < 0.3, d)
    check(f"{tag}: temperatures ~25 C",
          all(20 <= d.get(k, 0) <= 30 for k in ("mos_temp", "battery_t1", "battery_t2")), d)
    check(f"{tag}: MOSFETs on", d.get("charge_enabled") == 1 and d.get("discharge_enabled") == 1, d)


def mppsolar_daly(pty):
    """mpp-solar 0.16.x, Daly SOC (0x90)."""
    cli = os.path.join(os.path.dirname(sys.executable), "mpp-solar")
    tag = "mpp-solar DALYSERIAL SOC"
    d = run_json([cli, "-p", pty, "--porttype", "DALYSERIAL", "-P", "daly", "-b", "9600",
                  "-c", "SOC", "-o", "json"], tag)
    if d is None:
        return
    v = d.get("battery_bank_voltage", 0)
    check(f"{tag}: voltage 16 x 3.0..3.45 V", 48 <= v <= 55.2, d)
    check(f"{tag}: SOC 45..50 %", 45 <= d.get("soc", -1) <= 50, d)
    # Like dalybms, it reads our discharge current with the opposite sign: magnitude only.
    check(f"{tag}: |current| ~ 500 W / V", abs(abs(d.get("current", 0)) - 500 / v) < 0.3, d)


def pylontech_ser2net(url, modules):
    """pylontech 0.1.3 through ser2net (a TCP console server in front of the pty)."""
    from pylontech import PylontechDecode, PylontechEncode, PylontechRS485
    enc, dec = PylontechEncode(), PylontechDecode()
    p = PylontechRS485(url, baud=115200)
    for batt in range(int(modules)):
        tag = f"pylontech 0.1.3 via ser2net getAnalogValue({batt})"
        try:
            p.send(enc.getAnalogValue(battNumber=batt))
            raws = p.receive(3)
            dec.decode_header(raws[0])
            d = dec.decodeAnalogValue()
        except Exception as e:  # noqa: BLE001 - any failure is a FAIL line
            check(tag, False, repr(e))
            continue
        cells = d["CellVoltages"]
        check(f"{tag}: address {2 + batt}, RTN 0", d["ADR"] == 2 + batt and d["RTN"] == 0, d)
        check(f"{tag}: 15 cells 3.0..3.45 V",
              d["CellCount"] == 15 and all(3.0 <= c <= 3.45 for c in cells), cells)
        check(f"{tag}: voltage = sum of cells +- 0.05 V", abs(d["Voltage"] - sum(cells)) <= 0.05,
              (d["Voltage"], sum(cells)))
        check(f"{tag}: SOC 45..50 %",
              45 <= 100 * d["RemainCapacity"] / d["ModuleTotalCapacity"] <= 50, d)
        check(f"{tag}: discharging", d["Current"] < 0, d["Current"])
    p.close()


def main():
    what, pty = sys.argv[1], sys.argv[2]
    if what == "daly":
        daly(pty, sys.argv[3] if len(sys.argv) > 3 else None)
    elif what == "pylontech":
        pylontech(pty, int(sys.argv[3]))
    elif what == "vedirect":
        vedirect(pty, sys.argv[3])
    elif what == "jkctl-status":
        jkctl_status(pty, *sys.argv[3:6])
    elif what == "mppsolar-jk":
        mppsolar_jk(pty)
    elif what == "mppsolar-daly":
        mppsolar_daly(pty)
    elif what == "pylontech-ser2net":
        pylontech_ser2net(pty, sys.argv[3])
    else:
        sys.exit(f"unknown peer {what}")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
