#!/usr/bin/env python3
"""Write the Pylontech RS485 captures of ../../../../shared/testdata/vectors-serial.json (and
the 0x61 reply quoted in docs/protocols/serial-bms.md §4.8) as one .bin file each, and
expected.json with values decoded here, independently of the Rust code.

Usage: python3 make_testdata.py /work/shared/testdata/vectors-serial.json
"""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)

# (vector index or literal, file name, command the response answers (None = request), device)
FILES = [
    (18, "pyl33-doc-req-0x42-adr2", None, "document example"),
    (19, "us5000-req-0x92-adr2", None, "US5000"),
    (20, "vevor-req-0x61-adr2", None, "Vevor inverter / CNFW"),
    (21, "pyl33-doc-resp-0x42-bad-checksum", 0x42, "document example (74 Ah module)"),
    (22, "us2000-resp-0x42-all-3-modules", 0x42, "3 x US2000"),
    (23, "up2500-resp-0x92", 0x92, "UP2500"),
    (24, "us5000-resp-0x47", 0x47, "US5000"),
    (25, "us5000-resp-0x42", 0x42, "US5000"),
    (26, "tomcat42-resp-0x92", 0x92, "Pylontech (Tomcat42 #7)"),
    (27, "us3000-resp-0x44", 0x44, "US3000 (CNFW)"),
    (28, "up5000-resp-0x42", 0x42, "UP5000 (CNFW)"),
    (29, "synthetic-kitor-resp-0x63", 0x63, "none (kitor encoder)"),
    (30, "cnfw-resp-0x93", 0x93, "Pylontech (CNFW)"),
    ("~200246008062C2BF0000550008000864640CFC00020CFB00020BAB0BAC00020BA900020BA80BA800020BA800020BB00BB000020BB00002E8CC\r",
     "cnfw-resp-0x61", 0x61, "Pylontech stack (CNFW)"),
]


def checksum(chars: bytes) -> int:
    return (-sum(chars)) & 0xFFFF


def envelope(raw: bytes):
    body = raw[1:-1].decode()
    lenid = int(body[8:12], 16) & 0xFFF
    info = bytes.fromhex(body[12:12 + lenid])
    ok = int(body[12 + lenid:], 16) == checksum(raw[1:13 + lenid])
    lchk = int(body[8], 16) == ((-sum(int(c, 16) for c in "%03X" % lenid)) & 0xF)
    return dict(ver=int(body[0:2], 16), adr=int(body[2:4], 16), cid1=int(body[4:6], 16),
                cid2=int(body[6:8], 16), info=info.hex().upper(), checksum_ok=ok and lchk), info


class R:
    def __init__(self, b): self.b, self.i = b, 0
    def u(self, n):
        v = int.from_bytes(self.b[self.i:self.i + n], "big"); self.i += n; return v
    def s16(self):
        v = self.u(2); return v - 0x10000 if v >= 0x8000 else v
    def rest(self): return len(self.b) - self.i


def decode(cmd, info):
    r = R(info)
    if cmd == 0x42:
        d = dict(info_flag=r.u(1), command=r.u(1), modules=[])
        while r.rest():
            m = dict(cells_mv=[r.u(2) for _ in range(r.u(1))])
            m["temperatures_dk"] = [r.u(2) for _ in range(r.u(1))]
            m["current_ma"] = r.s16() * 100
            m["voltage_mv"] = r.u(2)
            rem1 = r.u(2); m["user_defined"] = r.u(1); tot1 = r.u(2); m["cycles"] = r.u(2)
            if m["user_defined"] >= 4:
                m["remaining_mah"], m["total_mah"] = r.u(3), r.u(3)
            else:
                m["remaining_mah"], m["total_mah"] = rem1, tot1
            d["modules"].append(m)
        return d
    if cmd == 0x44:
        d = dict(data_flag=r.u(1), command=r.u(1))
        d["cells"] = [r.u(1) for _ in range(r.u(1))]
        d["temperatures"] = [r.u(1) for _ in range(r.u(1))]
        d["charge_current"], d["module_voltage"], d["discharge_current"] = r.u(1), r.u(1), r.u(1)
        d["status"] = [r.u(1) for _ in range(5)]
        d["trailing"] = list(info[r.i:])
        return d
    if cmd == 0x47:
        flag = r.u(1)
        v = [r.u(2) for _ in range(12)]
        sg = lambda x: x - 0x10000 if x >= 0x8000 else x
        return dict(info_flag=flag, cell_high_mv=v[0], cell_low_mv=v[1], cell_under_mv=v[2],
                    charge_high_dk=v[3], charge_low_dk=v[4], charge_current_limit_ma=sg(v[5]) * 100,
                    module_high_mv=v[6], module_low_mv=v[7], module_under_mv=v[8],
                    discharge_high_dk=v[9], discharge_low_dk=v[10],
                    discharge_current_limit_ma=sg(v[11]) * 100)
    if cmd in (0x92, 0x63):
        d = {"command": r.u(1)} if cmd == 0x92 else {}
        d.update(charge_voltage_mv=r.u(2), discharge_voltage_mv=r.u(2),
                 charge_current_ma=r.s16() * 100, discharge_current_ma=r.s16() * 100, status=r.u(1))
        return d
    if cmd == 0x93:
        return dict(command=r.u(1), serial=info[1:17].decode())
    if cmd == 0x61:
        return dict(voltage_mv=r.u(2), current_ma=r.s16() * 10, soc=r.u(1), avg_cycles=r.u(2),
                    max_cycles=r.u(2), avg_soh=r.u(1), min_soh=r.u(1), max_cell_mv=r.u(2),
                    max_cell_id=r.u(2), min_cell_mv=r.u(2), min_cell_id=r.u(2),
                    cell_avg_dk=r.u(2), cell_max_dk=r.u(2), cell_max_id=r.u(2),
                    cell_min_dk=r.u(2), cell_min_id=r.u(2),
                    mos_avg_dk=r.u(2), mos_max_dk=r.u(2), mos_max_id=r.u(2),
                    mos_min_dk=r.u(2), mos_min_id=r.u(2),
                    bms_avg_dk=r.u(2), bms_max_dk=r.u(2), bms_max_id=r.u(2),
                    bms_min_dk=r.u(2), bms_min_id=r.u(2))
    return {}


def main():
    vectors = json.load(open(sys.argv[1]))
    expected = []
    for src, name, cmd, device in FILES:
        if isinstance(src, int):
            v = vectors[src]
            raw, source = v["ascii"].encode(), v["source"]
        else:
            raw, source = src.encode(), "serial-bms.md §4.8 (CNFW capture)"
        env, info = envelope(raw)
        open(os.path.join(OUT, name + ".bin"), "wb").write(raw)
        e = dict(file=name + ".bin", source=source, device=device,
                 direction="request" if cmd is None else "response",
                 command=env["cid2"] if cmd is None else cmd, **env)
        if cmd is not None and env["checksum_ok"]:
            e["decoded"] = decode(cmd, info)
        expected.append(e)
    json.dump(expected, open(os.path.join(OUT, "expected.json"), "w"), indent=1)
    print(len(expected), "files")


main()
