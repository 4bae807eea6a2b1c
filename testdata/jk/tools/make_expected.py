#!/usr/bin/env python3
"""Independent decoder for testdata/jk: writes expected.json.

Plain Python, no Rust involved. 4E 57 files: every complete candidate frame (start 4E 57,
length, end marker 0x68, 16-bit sum) with its decoded records; JK-PB files: the 300-byte
55 AA EB 90 blocks (sum8 at byte 299) with the status fields at the offsets of
mr-manuel's jkbms_pb.py. Cross-checks the `expected` values of
/work/shared/testdata/vectors-serial.json where that file is present.

Run: python3 testdata/jk/tools/make_expected.py
"""
import json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# id: (name, size, kind)
IDS = {
    0x80: ('mosfet_temperature', 2, 'temp'), 0x81: ('box_temperature', 2, 'temp'),
    0x82: ('battery_temperature', 2, 'temp'), 0x83: ('pack_voltage', 2, 'mv10'),
    0x84: ('current_raw', 2, 'u'), 0x85: ('soc_percent', 1, 'u'),
    0x86: ('temperature_sensor_count', 1, 'u'), 0x87: ('cycle_count', 2, 'u'),
    0x89: ('total_cycle_capacity', 4, 'ah'), 0x8A: ('cell_count', 2, 'u'),
    0x8B: ('warnings', 2, 'u'), 0x8C: ('status', 2, 'u'),
    0x8E: ('pack_over_voltage_protection', 2, 'mv10'), 0x8F: ('pack_under_voltage_protection', 2, 'mv10'),
    0x90: ('cell_over_voltage_protection', 2, 'mv'), 0x91: ('cell_over_voltage_recovery', 2, 'mv'),
    0x92: ('cell_over_voltage_delay_s', 2, 'u'), 0x93: ('cell_under_voltage_protection', 2, 'mv'),
    0x94: ('cell_under_voltage_recovery', 2, 'mv'), 0x95: ('cell_under_voltage_delay_s', 2, 'u'),
    0x96: ('cell_difference_protection', 2, 'mv'), 0x97: ('discharge_over_current_protection', 2, 'a'),
    0x98: ('discharge_over_current_delay_s', 2, 'u'), 0x99: ('charge_over_current_protection', 2, 'a'),
    0x9A: ('charge_over_current_delay_s', 2, 'u'), 0x9B: ('balance_start_voltage', 2, 'mv'),
    0x9C: ('balance_trigger_difference', 2, 'mv'), 0x9D: ('balancer_switch', 1, 'u'),
    0x9E: ('mosfet_over_temperature_celsius', 2, 's'), 0x9F: ('mosfet_over_temperature_recovery_celsius', 2, 's'),
    0xA0: ('box_over_temperature_celsius', 2, 's'), 0xA1: ('box_over_temperature_recovery_celsius', 2, 's'),
    0xA2: ('temperature_difference_celsius', 2, 's'), 0xA3: ('charge_over_temperature_celsius', 2, 's'),
    0xA4: ('discharge_over_temperature_celsius', 2, 's'), 0xA5: ('charge_low_temperature_celsius', 2, 's'),
    0xA6: ('charge_low_temperature_recovery_celsius', 2, 's'), 0xA7: ('discharge_low_temperature_celsius', 2, 's'),
    0xA8: ('discharge_low_temperature_recovery_celsius', 2, 's'), 0xA9: ('cell_count_setting', 1, 'u'),
    0xAA: ('capacity_setting', 4, 'ah'), 0xAB: ('charge_mos_switch', 1, 'u'),
    0xAC: ('discharge_mos_switch', 1, 'u'), 0xAD: ('current_calibration', 2, 'mv'),
    0xAE: ('board_address', 1, 'u'), 0xAF: ('battery_type', 1, 'u'), 0xB0: ('sleep_wait_s', 2, 'u'),
    0xB1: ('low_capacity_alarm_percent', 1, 'u'), 0xB2: ('password', 10, 't'),
    0xB3: ('dedicated_charger_switch', 1, 'u'), 0xB4: ('device_id', 8, 't'),
    0xB5: ('production_date', 4, 't'), 0xB6: ('runtime_minutes', 4, 'u'),
    0xB7: ('software_version', 15, 't'), 0xB8: ('start_current_calibration', 1, 'u'),
    0xB9: ('actual_capacity', 4, 'ah'), 0xBA: ('manufacturer_id', 24, 't'),
    0xBB: ('restart', 1, 'u'), 0xBC: ('factory_reset', 1, 'u'), 0xBD: ('remote_upgrade', 1, 'u'),
    0xBE: ('gps_shutdown_voltage', 2, 'mv'), 0xBF: ('gps_recovery_voltage', 2, 'mv'),
    0xC0: ('protocol_version', 1, 'u'),
}

def value(kind, b):
    u = int.from_bytes(b, 'big')
    if kind == 'temp':
        return u if u <= 100 else 100 - u          # vendor document rule
    if kind == 'mv10': return u * 10
    if kind == 'mv': return u                      # mV (or mA for current_calibration)
    if kind == 'a': return u * 1000                # mA
    if kind == 'ah': return u * 1000               # mAh
    if kind == 's': return int.from_bytes(b, 'big', signed=True)
    if kind == 't': return b.rstrip(b'\0').decode('ascii')
    return u

def records(info):
    out, i = {}, 0
    while i < len(info):
        id_ = info[i]
        if id_ == 0x79:
            n = info[i + 1]
            out['cells_mv'] = [int.from_bytes(info[i + 2 + 3 * k + 1:i + 2 + 3 * k + 3], 'big') for k in range(n // 3)]
            i += 2 + n
            continue
        name, size, kind = IDS[id_]
        out[name] = value(kind, info[i + 1:i + 1 + size])
        i += 1 + size
    if 'current_raw' in out:
        raw = out['current_raw']
        if out.get('protocol_version', 0) != 0:
            out['current_ma'] = (raw & 0x7FFF) * 10 * (1 if raw & 0x8000 else -1)
        else:
            out['current_ma'] = (10000 - raw) * 10
    return out

def frames_4e57(data):
    found, i = [], 0
    while i + 4 <= len(data):
        if data[i:i + 2] != b'\x4e\x57':
            i += 1; continue
        total = int.from_bytes(data[i + 2:i + 4], 'big') + 2
        f = data[i:i + total]
        if len(f) < total or f[-5] != 0x68:
            i += 1; continue
        if sum(f[:-2]) & 0xFFFF != int.from_bytes(f[-2:], 'big'):
            found.append({'offset': i, 'error': 'checksum'}); i += 1; continue
        entry = {'offset': i, 'len': total, 'command': f[8], 'source': f[9], 'transport': f[10]}
        info = f[11:-9]
        if f[10] == 0 and f[8] != 2 and len(info) == 1:
            entry['id'] = info[0]
        else:
            entry['records'] = records(info)
        found.append(entry); i += total
    return found

def blocks_pb(data):
    found, i = [], 0
    while i + 300 <= len(data):
        if data[i:i + 4] != b'\x55\xaa\xeb\x90':
            i += 1; continue
        b = data[i:i + 300]
        if sum(b[:299]) & 0xFF != b[299]:
            found.append({'offset': i, 'error': 'checksum'}); i += 1; continue
        e = {'offset': i, 'len': 300, 'kind': b[4]}
        if b[4] == 2:
            mask = struct.unpack_from('<I', b, 70)[0]
            e.update({
                'cells_mv': [struct.unpack_from('<H', b, 6 + 2 * k)[0] for k in range(32) if mask >> k & 1],
                'cell_mask': mask,
                'mosfet_temperature_dc': struct.unpack_from('<h', b, 144)[0],
                'pack_voltage_mv': struct.unpack_from('<I', b, 150)[0],
                'current_ma': struct.unpack_from('<i', b, 158)[0],
                'temperature_1_dc': struct.unpack_from('<h', b, 162)[0],
                'temperature_2_dc': struct.unpack_from('<h', b, 164)[0],
                'alarms': struct.unpack_from('<I', b, 166)[0],
                'soc_percent': b[173],
                'remaining_capacity_mah': struct.unpack_from('<i', b, 174)[0],
                'full_charge_capacity_mah': struct.unpack_from('<i', b, 178)[0],
                'cycle_count': struct.unpack_from('<I', b, 182)[0],
                'soh_percent': b[190],
                'charge_mos': b[198], 'discharge_mos': b[199],
            })
        found.append(e); i += 300
    return found

def main():
    out = {}
    for name in sorted(os.listdir(ROOT)):
        if not name.endswith('.bin'):
            continue
        data = open(os.path.join(ROOT, name), 'rb').read()
        out[name] = blocks_pb(data) if name.startswith('pb-') else frames_4e57(data)
    # Cross-check with the shared vectors.
    vec = '/work/shared/testdata/vectors-serial.json'
    if os.path.exists(vec):
        jk = [x for x in json.load(open(vec)) if x['protocol'] == 'jk-4e57' and x['direction'] == 'response' and x['checksum_ok']]
        by_hex = {}
        for name in out:
            by_hex[open(os.path.join(ROOT, name), 'rb').read()] = name
        for x in jk:
            name = by_hex[bytes.fromhex(x['hex'])]
            r = out[name][0]['records']; e = x['expected']
            assert r['cells_mv'] == e['cell_voltages_mV'], name
            assert r['mosfet_temperature'] == e['mosfet_temp_C'] and r['battery_temperature'] == e['battery_temp_C']
            assert r['pack_voltage'] == round(e['total_voltage_V'] * 1000)
            assert r['current_ma'] == round(e['current_A_protocol_v1'] * 1000)
            assert r['soc_percent'] == e['soc_pct'] and r['cycle_count'] == e['cycles']
            assert r['cell_over_voltage_protection'] == e['cell_ovp_mV'] and r['cell_under_voltage_protection'] == e['cell_uvp_mV']
            assert r['capacity_setting'] == e['capacity_setting_Ah'] * 1000
            assert r['software_version'] == e.get('software_version', r['software_version'])
            assert r['protocol_version'] == e['protocol_version_C0']
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write('\n')

main()
