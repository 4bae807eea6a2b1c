#!/usr/bin/env python3
"""Compute expected.json for the Pylontech/SMA CAN captures, independently of the Rust code,
straight from the layouts in docs/protocols/vedirect-and-can.md section 3 (little-endian).

Canonical integer units: mV, mA, 0.1 % (permille), 0.1 degC, 0.1 K, mAh, Wh.
Run from this directory: python3 tools/make_expected.py > expected.json
"""
import glob, json, re, struct

def frames(path):
    for n, line in enumerate(open(path), 1):
        s = line.strip()
        if not s:
            continue
        m = re.search(r'([0-9A-Fa-f]+)#([0-9A-Fa-f]*)', s)
        if m:
            yield n, int(m.group(1), 16), bytes.fromhex(m.group(2))
            continue
        w = s.split()
        i = [k for k, x in enumerate(w) if x.startswith('[')][0]
        yield n, int(w[i - 1], 16), bytes(int(x, 16) for x in w[i + 1:])

def u16(d, o): return struct.unpack_from('<H', d, o)[0]
def i16(d, o): return struct.unpack_from('<h', d, o)[0]
def text(d): return d.rstrip(b'\0 ').decode('ascii')

def decode(i, d):
    L = len(d)
    if i == 0x351:
        return 'charge_limits', dict(charge_voltage_mv=u16(d, 0) * 100, charge_current_ma=i16(d, 2) * 100,
            discharge_current_ma=i16(d, 4) * 100, discharge_voltage_mv=u16(d, 6) * 100 if L == 8 else None)
    if i == 0x355:
        return 'soc_soh', dict(soc_permille=u16(d, 0) * 10, soh_permille=u16(d, 2) * 10,
            soc_high_res=u16(d, 4) if L >= 6 else None)
    if i == 0x356:
        return 'measurements', dict(voltage_mv=i16(d, 0) * 10, current_ma=i16(d, 2) * 100, temperature_decic=i16(d, 4))
    if i == 0x359:
        return 'alarms', dict(protection=d[0] | d[1] << 8, warning=d[2] | d[3] << 8, module_count=d[4], tag=d[5:7].decode())
    if i == 0x35C:
        f = d[0]
        return 'request', dict(flags=f, charge_enable=bool(f & 0x80), discharge_enable=bool(f & 0x40))
    if i == 0x35A:
        return 'sma_alarms', dict(alarms=list(d[0:4]), warnings=list(d[4:8]))
    if i == 0x35F:
        return 'battery_info', dict(capacity_mah=u16(d, 4) * 1000)
    if i == 0x372:
        return 'module_counts', dict(online=u16(d, 0), blocking_charge=u16(d, 2), blocking_discharge=u16(d, 4), offline=u16(d, 6))
    if i == 0x373:
        return 'cell_extremes', dict(min_cell_mv=u16(d, 0), max_cell_mv=u16(d, 2), min_cell_deci_k=u16(d, 4) * 10, max_cell_deci_k=u16(d, 6) * 10)
    names = {0x35E: 'manufacturer', 0x370: 'bms_name', 0x371: 'battery_name', 0x374: 'min_cell_voltage_id',
             0x375: 'max_cell_voltage_id', 0x376: 'min_cell_temperature_id'}
    if i in names:
        return names[i], dict(text=text(d))
    if i == 0x305:
        return 'inverter_request', dict(hex=d.hex().upper())
    if i == 0x307:
        return 'inverter_handshake', dict(hex=d.hex().upper(), victron=d[4:7] == b'VIC')
    raise ValueError(hex(i))

out = []
for path in sorted(glob.glob('*.log')):
    for n, i, d in frames(path):
        kind, fields = decode(i, d)
        out.append(dict(file=path, line=n, id=i, dlc=len(d), type=kind, fields=fields))

# Cross-checks against the `expected` fields of testdata/vectors-vedirect-can.json.
def find(f, ln): return next(e for e in out if e['file'] == f and e['line'] == ln)['fields']
assert find('bms-gateway-5-module-stack-inverter-0x305.log', 4) == dict(voltage_mv=52860, current_ma=-94600, temperature_decic=210)
assert find('victron-gx-seplos-sma-mode-syssi-issue3.log', 7) == dict(charge_voltage_mv=57900, charge_current_ma=100000, discharge_current_ma=195000, discharge_voltage_mv=46400)
assert find('arminjo-header-samples-short-dlc.log', 1)['discharge_voltage_mv'] == 48000
assert find('bms-gateway-5-module-stack.log', 7) == dict(min_cell_mv=3288, max_cell_mv=3313, min_cell_deci_k=2900, max_cell_deci_k=2980)
print(json.dumps(out, indent=1))
