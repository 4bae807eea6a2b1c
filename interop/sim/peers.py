#!/usr/bin/env python3
"""One peer against one `voltwire sim` pty. Run by run.sh, each in the peer's own venv.

Usage: peers.py daly PTY [overvoltage] | pylontech PTY MODULES | vedirect PTY mppt|smartshunt
       | pythoncan-pylontech PTY | npbcharger PTY
       | jkctl-status PTY CELLS SOC ADDRESS | mppsolar-jk PTY | mppsolar-daly PTY
       | pylontech-ser2net URL MODULES
       | modbus PTY lumentree|coulombmeter|bad-checksum ADDRESS
       | meter URL MQTT-PORT TOPIC

Prints one `ok  <check>` / `FAIL <check>` line per check; exit status 1 if any failed. Each
peer must also make at least its stated number of checks (`minimum_checks`): a peer that
silently checks less (a skipped branch, an empty list) fails.
"""
import json
import os
import subprocess
import sys
import time

FAILED = 0
CHECKS = 0


def check(what, ok, detail=""):
    global FAILED, CHECKS
    CHECKS += 1
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
    # Our sim discharges 500 W by default: ~9.5 A out. dalybms prints (raw - 30000) / 10,
    # "negative=charging, positive=discharging" (its source): a discharge is positive, the
    # sign settled in testdata/daly/README.md (raw above 30000 is a discharge).
    check(f"{tag}: current ~ +500 W / V (dalybms: positive = discharging)",
          v > 0 and abs(soc.get("current", 0) - 500 / v) < 0.3, soc)
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


def pythoncan_pylontech(pty):
    """python-can 4.6.1 `slcan` on the pylontech-can sim (16 cells, 50 %, 500 W discharge)."""
    import struct
    import can
    tag = "python-can slcan pylontech-can"
    bus = can.Bus(interface="slcan", channel=pty, bitrate=500000, sleep_after_open=0)
    try:
        seen, end = {}, time.monotonic() + 2.5
        while time.monotonic() < end:
            m = bus.recv(0.5)
            if m is not None and not m.is_extended_id:
                seen.setdefault(m.arbitration_id, []).append(bytes(m.data))
        want = [0x351, 0x355, 0x356, 0x359, 0x35C, 0x35E]
        check(f"{tag}: telegram 0x351 0x355 0x356 0x359 0x35C 0x35E",
              all(i in seen for i in want), sorted(hex(i) for i in seen))
        check(f"{tag}: each frame at least twice in 2.5 s (every second)",
              all(len(seen.get(i, [])) >= 2 for i in want),
              {hex(i): len(v) for i, v in seen.items()})
        if 0x351 in seen:
            cvl, ccl, dcl, dvl = struct.unpack("<HhhH", seen[0x351][-1][:8])
            check(f"{tag}: charge voltage 56.8 V (16 x 3.55)", cvl == 568, cvl)
            check(f"{tag}: charge/discharge limits 50 A (C/2)", ccl == 500 and dcl == 500,
                  (ccl, dcl))
            check(f"{tag}: discharge voltage 48.0 V (16 x 3.0)", dvl == 480, dvl)
        if 0x355 in seen:
            soc, soh = struct.unpack("<HH", seen[0x355][-1][:4])
            check(f"{tag}: SOC 45..50 %, SOH 100 %", 45 <= soc <= 50 and soh == 100, (soc, soh))
        if 0x356 in seen:
            v, i, t = struct.unpack("<Hhh", seen[0x356][-1][:6])
            check(f"{tag}: voltage 48..55.2 V", 4800 <= v <= 5520, v)
            check(f"{tag}: current ~ -500 W / V", abs(i / 10 + 500 / (v / 100)) <= 0.2, (v, i))
            check(f"{tag}: temperature ~25 C", 200 <= t <= 300, t)
        if 0x35C in seen:
            check(f"{tag}: charge and discharge enabled", seen[0x35C][-1][0] & 0xC0 == 0xC0,
                  seen[0x35C][-1].hex())
        if 0x35E in seen:
            check(f"{tag}: manufacturer PYLON", seen[0x35E][-1].startswith(b"PYLON"),
                  seen[0x35E][-1])
        # 0x305 from the inverter side: the BMS answers with its burst at once.
        bus.send(can.Message(arbitration_id=0x305, is_extended_id=False, data=bytes(8)))
        sent, got = time.monotonic(), None
        while time.monotonic() - sent < 0.3:
            m = bus.recv(0.3)
            if m is not None and m.arbitration_id == 0x359:
                got = time.monotonic() - sent
                break
        check(f"{tag}: 0x305 sent, burst back within 0.3 s", got is not None, got)
    finally:
        bus.shutdown()


def npbcharger_peer(pty):
    """npbcharger 1.1.0 (NPB-1700 client over python-can slcan) on the meanwell-npb sim."""
    from npbcharger.driver import NPB1700
    from npbcharger.services import NPB1700Service
    tag = "npbcharger meanwell-npb"
    # Our unit has jumper id 0: requests to 0x000C0100. npbcharger opens python-can's slcan
    # with its default sleep_after_open of 2 s.
    driver = NPB1700(channel=pty, interface="slcan", device_id=0x000C0100)
    svc = NPB1700Service(driver)

    def attempt(what, f):
        # The reply timeout is 5 ms; count how many of 5 tries make it.
        errors = []
        for _ in range(5):
            try:
                r = f()
                if errors:
                    print(f"{what}: answered after {len(errors)} timeout(s)", flush=True)
                return r, errors
            except Exception as e:  # noqa: BLE001 - any failure is a FAIL line
                errors.append(repr(e))
        check(f"{tag}: {what}", False, errors[-3:])
        return None, errors

    try:
        v, _ = attempt("read voltage", svc.get_voltage_current)
        if v is not None:
            check(f"{tag}: READ_VOUT 48..55.2 V", 48 <= v <= 55.2, v)
        model, _ = attempt("read model", svc.get_model_id)
        if model is not None:
            check(f"{tag}: model NPB-1700-48", model.strip() == "NPB-1700-48", model)
        st, _ = attempt("read system status", svc.get_system_status)
        if st is not None:
            check(f"{tag}: system status read", isinstance(st, dict), st)
        fs, _ = attempt("read fault status", svc.get_fault_status)
        if fs is not None:
            check(f"{tag}: fault status read", isinstance(fs, dict), fs)
        # Defaults: CURVE_CV 61 V > pack, CURVE_CC 25 A: the charger pushes 25 A.
        i, _ = attempt("read current", svc.get_constant_current)
        if i is not None:
            check(f"{tag}: READ_IOUT ~ 25 A (CURVE_CC default)", abs(i - 25.0) <= 0.2, i)
        # Write a set point and read it back; the plant follows.
        svc.set_constant_current_curve(10.0)
        cc, _ = attempt("read CURVE_CC back", svc.get_constant_current_curve)
        if cc is not None:
            check(f"{tag}: CURVE_CC written 10 A, read back", abs(cc - 10.0) < 0.01, cc)
        i, _ = attempt("read current after set point", svc.get_constant_current)
        if i is not None:
            check(f"{tag}: READ_IOUT follows to ~10 A", abs(i - 10.0) <= 0.2, i)
        # npbcharger clamps CURVE_CV to 21..42 V (the NPB-1700-24's range) before writing;
        # our unit is an NPB-1700-48 (42..80 V), so 42.0 V is the one value both accept.
        # 42 V is below the pack: the charger stops pushing current.
        svc.set_constant_voltage_curve(42.0)
        cv, _ = attempt("read CURVE_CV back", svc.get_constant_voltage_curve)
        if cv is not None:
            check(f"{tag}: CURVE_CV written 42.0 V, read back", abs(cv - 42.0) < 0.01, cv)
        i, _ = attempt("read current after CURVE_CV below the pack", svc.get_constant_current)
        if i is not None:
            check(f"{tag}: READ_IOUT 0 A once CURVE_CV < pack voltage", i == 0.0, i)
    finally:
        driver._NPB1700__can_bus.shutdown()
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
    # mpp-solar prints (raw - 30000) / 10, like dalybms: our 500 W discharge (raw above
    # 30000, see testdata/daly/README.md) is positive.
    check(f"{tag}: current ~ +500 W / V (raw above 30000: discharging)",
          v > 0 and abs(d.get("current", 0) - 500 / v) < 0.3, d)


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
def curl_json(url, method="GET"):
    """curl (a client nobody here wrote) fetches; Python's json parses. (status, value)."""
    r = subprocess.run(["curl", "-s", "-m", "5", "-X", method, "-w", "\n%{http_code}", url],
                       capture_output=True, text=True, timeout=10)
    body, _, code = r.stdout.rpartition("\n")
    try:
        return int(code), json.loads(body)
    except ValueError:
        return int(code or 0), body


def meter(url, port, topic):
    """curl + json on the Shelly HTTP paths, paho-mqtt 2.2.0 on the MQTT topics."""
    # Started with --load 1000 --pv 300 --load-profile constant: grid = 700 W.
    code, em = curl_json(url + "/rpc/EM.GetStatus?id=0")
    check("curl EM.GetStatus?id=0: 200 + JSON", code == 200 and isinstance(em, dict), (code, em))
    if isinstance(em, dict):
        phases = sum(em.get(f"{p}_act_power", 0) for p in "abc")
        check("curl EM.GetStatus: total_act_power 700 W = a + b + c",
              em.get("total_act_power") == 700 and abs(phases - 700) < 1e-9, em)
        check("curl EM.GetStatus: voltages 220..240 V",
              all(220 <= em.get(f"{p}_voltage", 0) <= 240 for p in "abc"), em)
    code, g1 = curl_json(url + "/status")
    check("curl Gen1 /status: total_power 700 W = sum of emeters",
          code == 200 and g1.get("total_power") == 700
          and abs(sum(e["power"] for e in g1.get("emeters", [])) - 700) < 1e-9
          and len(g1.get("emeters", [])) == 3, (code, g1))
    code, info = curl_json(url + "/rpc/Shelly.GetDeviceInfo")
    check("curl Shelly.GetDeviceInfo: gen 2, app Pro3EM",
          code == 200 and info.get("gen") == 2 and info.get("app") == "Pro3EM", info)
    code, err = curl_json(url + "/rpc/EM.GetStatus?id=zero")
    check("curl EM.GetStatus?id=zero: 400 naming 'id'",
          code == 400 and "'id'" in err.get("message", ""), (code, err))
    code, err = curl_json(url + "/no/such/path")
    check("curl unknown path: 404 JSON", code == 404 and err.get("code") == 404, (code, err))
    code, st = curl_json(url + "/sim/load?w=1500", "POST")
    check("curl POST /sim/load?w=1500: grid 1200 W", code == 200 and st.get("grid_w") == 1200, st)

    import paho.mqtt.client as mqtt
    got = {}

    def on_message(_c, _u, msg):
        got.setdefault(msg.topic, []).append(msg.payload)

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="voltwire-interop-paho")
    c.on_connect = lambda cl, *_: cl.subscribe(topic + "/#", qos=1)
    c.on_message = on_message
    c.connect("127.0.0.1", int(port))
    c.loop_start()
    end = time.monotonic() + 5
    want = [topic + t for t in ("/status/em:0", "/events/rpc", "/state", "/online")]
    while time.monotonic() < end and not all(len(got.get(t, [])) >= 2 or t.endswith("/online") and got.get(t)
                                             for t in want):
        time.sleep(0.05)
    c.loop_stop()
    c.disconnect()
    check("paho-mqtt: <prefix>/online is true", got.get(topic + "/online", [b""])[-1] == b"true",
          got.get(topic + "/online"))
    try:
        em = json.loads(got.get(topic + "/status/em:0", [b""])[-1])
        check("paho-mqtt: status/em:0 total_act_power 1200 W = a + b + c",
              em["total_act_power"] == 1200
              and abs(sum(em[f"{p}_act_power"] for p in "abc") - 1200) < 1e-9, em)
        ev = json.loads(got.get(topic + "/events/rpc", [b""])[-1])
        check("paho-mqtt: events/rpc NotifyStatus with em:0",
              ev.get("method") == "NotifyStatus" and ev["params"]["em:0"]["total_act_power"] == 1200, ev)
        st = json.loads(got.get(topic + "/state", [b""])[-1])
        check("paho-mqtt: state power_w 1200", st.get("power_w") == 1200, st)
    except (ValueError, KeyError, TypeError) as e:
        check("paho-mqtt: JSON on the meter topics", False, f"{e!r}: {got}")


def modbus(pty, kind, address):
    """pymodbus 3.16.1 as the RTU master (serial client, `device_id=`)."""
    from pymodbus import FramerType
    from pymodbus.client import ModbusSerialClient
    c = ModbusSerialClient(port=pty, framer=FramerType.RTU, baudrate=9600, timeout=1, retries=0)
    tag = f"pymodbus {kind} @{address}"
    check(f"{tag}: connect", c.connect())

    def read(fn, reg, count):
        try:
            r = fn(reg, count=count, device_id=address)
        except Exception as e:  # noqa: BLE001 - no reply is a value here
            return e
        return r

    def regs(what, r, n):
        ok = not isinstance(r, Exception) and not r.isError() and len(r.registers) == n
        check(f"{tag}: {what}", ok, repr(r))
        return r.registers if ok else None

    if kind == "bad-checksum":
        r = read(c.read_input_registers, 0, 12)
        check(f"{tag}: a reply with a bad CRC is rejected",
              isinstance(r, Exception) or r.isError(), repr(r))
        c.close()
        return
    if kind == "lumentree":
        vals = {}
        for reg in (70, 94, 107, 109):
            v = regs(f"read holding register {reg}", read(c.read_holding_registers, reg, 1), 1)
            vals[reg] = v[0] if v else None
        check(f"{tag}: grid 230.0 V", vals[70] == 2300, vals)
        check(f"{tag}: temperature 20..60 °C", vals[94] is not None and 200 <= vals[94] <= 600, vals)
        check(f"{tag}: output 500.0 W (the --discharge default)", vals[107] == 5000, vals)
        check(f"{tag}: battery 48..56 V", vals[109] is not None and 480 <= vals[109] <= 560, vals)
        w = c.write_registers(40, [300], device_id=address)
        check(f"{tag}: write set point 300 W (FC 0x10, register 40)", not w.isError(), repr(w))
        v = regs("read back register 107", read(c.read_holding_registers, 107, 1), 1)
        check(f"{tag}: output now 300.0 W", v == [3000], v)
        w = c.write_registers(40, [2001], device_id=address)
        check(f"{tag}: set point 2001 W refused (exception 3)",
              w.isError() and getattr(w, "exception_code", None) == 3, repr(w))
        v = regs("block 70..109", read(c.read_holding_registers, 70, 40), 40)
        check(f"{tag}: block agrees with single reads", v is not None and v[37] == 3000 and v[0] == 2300, v)
    else:
        v = regs("read input registers 0..11 (FC 0x04)", read(c.read_input_registers, 0, 12), 12)
        if v:
            soc, volts, amps = v[0], v[2] / 100, v[3] / 100
            power = ((v[4] << 16) | v[5]) / 10
            remaining = (v[8] << 16) | v[9]
            check(f"{tag}: SOC 45..50 %", 45 <= soc <= 50, v)
            check(f"{tag}: voltage 48..56 V", 48 <= volts <= 56, v)
            check(f"{tag}: state 1 (discharging)", v[11] == 1, v)
            check(f"{tag}: current ~ 500 W / V", abs(amps - 500 / volts) < 0.3, v)
            check(f"{tag}: power ~ 500 W", abs(power - 500) < 10, v)
            check(f"{tag}: remaining ~ SOC x 100 Ah (reg 8 = high word)",
                  abs(remaining - soc * 1000) <= 1000, v)
        v = regs("read holding registers 0..9", read(c.read_holding_registers, 0, 10), 10)
        check(f"{tag}: address register = {address}", v is not None and v[0] == address, v)
        check(f"{tag}: capacity 100000 mAh", v is not None and (v[1] << 16 | v[2]) == 100000, v)
        w = c.write_registers(1, [240000 >> 16, 240000 & 0xFFFF], device_id=address)
        check(f"{tag}: write capacity 240 Ah", not w.isError(), repr(w))
        v = regs("read back capacity", read(c.read_holding_registers, 1, 2), 2)
        check(f"{tag}: capacity now 240000 mAh", v is not None and (v[0] << 16 | v[1]) == 240000, v)
        r = read(c.read_input_registers, 0, 1) if address != 1 else None
        if address != 1:
            c2 = read(lambda reg, count, device_id: c.read_input_registers(reg, count=count, device_id=1), 0, 1)
            check(f"{tag}: address 1 does not answer", isinstance(c2, Exception) or c2.isError(), repr(c2))
            check(f"{tag}: address {address} still answers", r is not None and not isinstance(r, Exception) and not r.isError(), repr(r))
    c.close()


def minimum_checks(what, args):
    """The number of checks a full run of peer `what` makes: fewer means something was skipped."""
    if what == "daly":
        return 9 if args[:1] == ["overvoltage"] else 8
    if what == "pylontech":
        return 6 * int(args[0])
    if what == "vedirect":
        return {"mppt": 5, "smartshunt": 6}[args[0]]
    if what == "pylontech-ser2net":
        return 5 * int(args[0])
    if what == "modbus":
        kind, address = args[0], int(args[1])
        return {"lumentree": 15, "bad-checksum": 2}.get(kind, 16 if address != 1 else 14)
    return {
        "pythoncan-pylontech": 12,
        "npbcharger": 9,
        "jkctl-status": 13,
        "mppsolar-jk": 8,
        "mppsolar-daly": 4,
        "meter": 12,
    }[what]


def main():
    what, pty = sys.argv[1], sys.argv[2]
    need = minimum_checks(what, sys.argv[3:])
    if what == "daly":
        daly(pty, sys.argv[3] if len(sys.argv) > 3 else None)
    elif what == "pylontech":
        pylontech(pty, int(sys.argv[3]))
    elif what == "vedirect":
        vedirect(pty, sys.argv[3])
    elif what == "pythoncan-pylontech":
        pythoncan_pylontech(pty)
    elif what == "npbcharger":
        npbcharger_peer(pty)
    elif what == "jkctl-status":
        jkctl_status(pty, *sys.argv[3:6])
    elif what == "mppsolar-jk":
        mppsolar_jk(pty)
    elif what == "mppsolar-daly":
        mppsolar_daly(pty)
    elif what == "pylontech-ser2net":
        pylontech_ser2net(pty, sys.argv[3])
    elif what == "modbus":
        modbus(pty, sys.argv[3], int(sys.argv[4]))
    elif what == "meter":
        meter(pty, sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown peer {what}")
    made = CHECKS
    check(f"{' '.join([what] + sys.argv[3:])}: {made} checks made, at least {need}", made >= need,
          "a peer checked less than it must")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
