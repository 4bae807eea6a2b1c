#!/usr/bin/env python3
"""One peer against one `voltwire sim` pty. Run by run.sh, each in the peer's own venv.

Usage: peers.py daly PTY [overvoltage] | pylontech PTY MODULES | vedirect PTY mppt|smartshunt

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


def main():
    what, pty = sys.argv[1], sys.argv[2]
    if what == "daly":
        daly(pty, sys.argv[3] if len(sys.argv) > 3 else None)
    elif what == "pylontech":
        pylontech(pty, int(sys.argv[3]))
    elif what == "vedirect":
        vedirect(pty, sys.argv[3])
    else:
        sys.exit(f"unknown peer {what}")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
