#!/usr/bin/env python3
"""Write testdata/daly/*.bin and manifest.json from the daly-uart entries of
/work/shared/testdata/vectors-serial.json (real captures).

The expected values are computed here, independently of the Rust code, straight from the
protocol notes (docs/protocols/daly.md): big-endian fields, 0.1 V, 0.1 A with 30000 = 0 A,
0.1 %, °C + 40, sum8. Current is given raw and in both sign conventions.
"""
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent.parent
VECTORS = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/testdata/vectors-serial.json")

NAMES = {
    0x90: "pack_status", 0x91: "cell_voltage_range", 0x92: "temperature_range",
    0x93: "mosfet_status", 0x94: "status_info", 0x95: "cell_voltages", 0x96: "temperatures",
    0x63: "hardware_version",
}

FILES = [
    # (file name, vector source prefix, hex prefix)
    ("mal-readme-pack-status-57v0.bin", "A5 01 90 08 02 3A"),
    ("esphome-12445-pack-status-13v0.bin", "A5 01 90 08 00 82"),
    ("mppsolar-pack-status-53v2.bin", "A5 01 90 08 02 14"),
    ("mppsolar-pack-status-26v5.bin", "A5 01 90 08 01 09"),
    ("mppsolar-temperature-range.bin", "A5 01 92 08"),
    ("mppsolar-mosfet-status.bin", "A5 01 93 08"),
    ("mppsolar-status-info-16s.bin", "A5 01 94 08"),
    ("mppsolar-temperatures-2-frames.bin", "A5 01 96 08"),
    ("esphome-12445-request-0x91-host40.bin", "A5 40 91 08"),
    ("mppsolar-113-request-0x63-host40.bin", "A5 40 63 08"),
]


def sum8(b):
    return sum(b) & 0xFF


def u16(b, i):
    return b[i] << 8 | b[i + 1]


def decode(frame):
    addr, cmd, data = frame[1], frame[2], frame[4:12]
    out = {"address": addr, "command": cmd, "direction": "request" if addr >= 0x20 else "response",
           "checksum_ok": sum8(frame[:12]) == frame[12]}
    if out["direction"] == "request":
        out["type"] = NAMES.get(cmd, "request")
        return out
    out["type"] = NAMES.get(cmd, "response")
    if cmd == 0x90:
        raw = u16(data, 4)
        out.update(voltage_mv=u16(data, 0) * 100, acquired_voltage_mv=u16(data, 2) * 100,
                   current_raw=raw, current_ma_charge_below=(30000 - raw) * 100,
                   current_ma_charge_above=(raw - 30000) * 100, soc_permille=u16(data, 6))
    elif cmd == 0x92:
        out.update(max_dc=(data[0] - 40) * 10, max_sensor=data[1], min_dc=(data[2] - 40) * 10,
                   min_sensor=data[3])
    elif cmd == 0x93:
        out.update(state=data[0], charge_mosfet=data[1], discharge_mosfet=data[2], bms_life=data[3],
                   remaining_mah=int.from_bytes(data[4:8], "big"))
    elif cmd == 0x94:
        out.update(cell_count=data[0], temperature_sensor_count=data[1], charger=data[2], load=data[3],
                   dio=data[4], cycles=u16(data, 5))
    elif cmd == 0x96:
        out.update(frame=data[0], temperatures_dc=[(t - 40) * 10 for t in data[1:8]])
    return out


def main():
    vectors = [v for v in json.loads(VECTORS.read_text()) if v.get("protocol") == "daly-uart"]
    manifest = []
    for name, prefix in FILES:
        (v,) = [v for v in vectors if v["hex"].startswith(prefix)]
        raw = bytes.fromhex(v["hex"])
        (HERE / name).write_bytes(raw)
        frames = [decode(raw[i:i + 13]) for i in range(0, len(raw), 13)]
        assert all(f["checksum_ok"] for f in frames) == v["checksum_ok"], name
        manifest.append({"file": name, "source": v["source"], "vector_expected": v["expected"],
                         "frames": frames})
    # One stream made of real frames of the same mpp-solar session (the 0x91 stale bytes
    # repeat the 0x90 SOC): status (16 cells, 1 sensor), line noise with a false marker,
    # the two 0x96 frames, a cut-off frame. Only the noise is ours.
    status = (HERE / "mppsolar-status-info-16s.bin").read_bytes()
    temps = (HERE / "mppsolar-temperatures-2-frames.bin").read_bytes()
    noise = bytes([0x00, 0xA5, 0x01, 0xFF])
    stream = status + noise + temps + bytes.fromhex("A5 01 90 08 02")
    name = "mppsolar-session-status-noise-temperatures.bin"
    (HERE / name).write_bytes(stream)
    manifest.append({"file": name, "source": "concatenation of mppsolar-status-info-16s.bin, 4 noise bytes, "
                     "mppsolar-temperatures-2-frames.bin, 5 bytes of a cut-off frame",
                     "vector_expected": {}, "dropped_bytes": 4 + 5,
                     "frames": [dict(decode(status), offset=0)] +
                     [dict(decode(temps[i:i + 13]), offset=17 + i) for i in (0, 13)]})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
