#!/usr/bin/env python3
"""Write the Pace v25 captures of vectors-serial.json as one .bin file each, and
expected.json with values decoded here, independently of the Rust code.

Usage: python3 make_testdata.py /work/shared/testdata/vectors-serial.json
"""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)

# (vector index, file name, command a response answers (None = request))
FILES = [
    (0, "nk-req-0x42-pack1", None),
    (1, "pacepdf-req-0x42-adr0", None),
    (2, "nk-req-0x44-pack1", None),
    (3, "nk-req-0x9a-charge-mosfet-on", None),
    (4, "nk-req-0x9b-discharge-mosfet-off", None),
    (5, "nk-req-0x9c-shutdown", None),
    (6, "nk-req-0xd0-write-cell-ov", None),
    (7, "nk-req-0xb5-write-balancing", None),
    (8, "nk-req-0xae-write-full-charge", None),
    (9, "nk-resp-0x42-16s", 0x42),
    (10, "nk-resp-0x44-16s-length-004c", 0x44),
    (11, "nk-resp-0xc1-version", 0xC1),
    (12, "nk-resp-0x9a-state", 0x9A),
    (13, "nk-resp-0x9b-rtn09-refused", 0x9B),
    (14, "nk-resp-empty-ok", 0xB5),
    (15, "nk-resp-0xdb-discharge-oc", 0xDB),
    (16, "nk-resp-0xa6-capacity", 0xA6),
    (17, "nk-resp-0xaf-full-charge", 0xAF),
]


def checksum(chars):
    return (-sum(chars)) & 0xFFFF


class R:
    def __init__(self, b): self.b, self.i = b, 0
    def u(self, n):
        v = int.from_bytes(self.b[self.i:self.i + n], "big"); self.i += n; return v
    def s16(self):
        v = self.u(2); return v - 0x10000 if v >= 0x8000 else v


def decode(cmd, info, rtn):
    r = R(info)
    if rtn != 0:
        return dict(rtn=rtn, info=info.hex().upper())
    if cmd == 0x42:
        d = dict(info_flag=r.u(1), command=r.u(1), packs=[])
        while r.i < len(info):
            p = dict(cells_mv=[r.u(2) for _ in range(r.u(1))])
            p["temperatures_dk"] = [r.u(2) for _ in range(r.u(1))]
            p["temperatures_c_2730"] = [round((t - 2730) / 10, 1) for t in p["temperatures_dk"]]
            p.update(current_ma=r.s16() * 10, voltage_mv=r.u(2), remaining_mah=r.u(2) * 10,
                     user_defined=r.u(1), full_mah=r.u(2) * 10, cycles=r.u(2))
            if p["user_defined"] >= 3:
                p["design_mah"] = r.u(2) * 10
            d["packs"].append(p)
        return d
    if cmd == 0x44:
        d = dict(info_flag=r.u(1), command=r.u(1))
        d["cells"] = [r.u(1) for _ in range(r.u(1))]
        d["temperatures"] = [r.u(1) for _ in range(r.u(1))]
        names = ["charge_current", "voltage", "discharge_current", "protect_1", "protect_2",
                 "system", "control", "fault", "balance_1", "balance_2", "warn_1", "warn_2"]
        d.update({n: r.u(1) for n in names})
        return d
    if cmd == 0xC1:
        return dict(text=info.decode())
    if cmd in (0x9A, 0x9B):
        return dict(state=info[0])
    if cmd == 0xB5:
        return dict(empty=len(info) == 0)
    if cmd == 0xDB:
        return dict(lead=r.u(1), alarm_ma=r.s16() * 1000, protect_ma=r.s16() * 1000, delay_100ms=r.u(1))
    if cmd == 0xA6:
        return dict(remaining_mah=r.u(2) * 10, full_mah=r.u(2) * 10, design_mah=r.u(2) * 10)
    if cmd == 0xAF:
        return dict(voltage_mv=r.u(2), current_ma=r.u(2), low_soc_percent=r.u(1))
    return {}


def main():
    vectors = json.load(open(sys.argv[1]))
    expected = []
    for idx, name, cmd in FILES:
        v = vectors[idx]
        assert v["protocol"] == "pace-v25"
        raw = v["ascii"].encode()
        body = raw[1:-1].decode()
        lenid = int(body[8:12], 16) & 0xFFF
        info = bytes.fromhex(body[12:12 + lenid])
        ok = int(body[12 + lenid:], 16) == checksum(raw[1:13 + lenid])
        open(os.path.join(OUT, name + ".bin"), "wb").write(raw)
        e = dict(file=name + ".bin", source=v["source"],
                 direction="request" if cmd is None else "response",
                 command=int(body[6:8], 16) if cmd is None else cmd,
                 adr=int(body[2:4], 16), cid2=int(body[6:8], 16), info=info.hex().upper(),
                 checksum_ok=ok)
        if cmd is not None and ok:
            e["decoded"] = decode(cmd, info, int(body[6:8], 16))
        expected.append(e)
    json.dump(expected, open(os.path.join(OUT, "expected.json"), "w"), indent=1)
    print(len(expected), "files")


main()
