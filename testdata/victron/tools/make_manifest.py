#!/usr/bin/env python3
"""Compute testdata/victron/manifest.json from the .bin files and hex-frames.txt.

Independent of the Rust code.  Rules used:
  * A text block starts with CR LF, is a run of fields  CR LF <label> TAB <value>  and ends with the
    field  CR LF "Checksum" TAB <one raw byte>.  It is valid when the sum of all its bytes, from the
    leading CR LF through the checksum byte, is 0 mod 256.
  * A HEX frame is ':' <command nibble> <hex byte pairs> '\n'; the pairs are payload bytes and,
    last, the checksum byte.  Valid when nibble + payload + checksum == 0x55 mod 256.  HEX frames are
    never part of a text block's sum (a frame that appears at a field boundary inside a block is
    recorded and skipped).
  * leading_garbage_bytes: bytes before the first complete block.  A first block known to be cut
    off at the start of the recording (FILES[...]["first_block_truncated"]) is counted there too;
    the script asserts that such a block does fail its checksum.
  * trailing_garbage_bytes: bytes after the last complete block / HEX frame (an unfinished block).

usage: python3 tools/make_manifest.py        (run from anywhere; writes manifest.json beside tools/)
"""
import hashlib, json, os

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KAR_BLUE = "karioja/vedirect test/bluesolar_1.23.dump (commit f94f23d96ec80557fe72c4c90104ab1e758f06c8)"
KAR_SMART = "karioja/vedirect test/smartsolar_1.39.dump (commit f74c0f25805ad7c622ccef17e6d48977293f3782)"
KAR_BMV = "karioja/vedirect test/bvm702.dump (commit f94f23d96ec80557fe72c4c90104ab1e758f06c8)"
VEC = "shared/testdata/vectors-vedirect-can.json, vector from "
KIN = "KinDR007/VictronMPPT-ESPHOME "
MPP = "jblance/mpp-solar mppsolar/protocols/ved.py (commit 18df43b52e5fd5d77f8ba3d9ce9a3145ffe59bfe) test_responses"

FILES = {
    "bluesolar-75-15-fw123-karioja-dump.bin": dict(
        source=KAR_BLUE, device="BlueSolar MPPT 75/15 (PID 0xA042), FW 1.23", captured=True),
    "smartsolar-100-20-fw139-karioja-dump.bin": dict(
        source=KAR_SMART, device="SmartSolar MPPT 100/20 (PID 0xA05F), FW 1.39", captured=True,
        first_block_truncated=True),
    "bmv700-fw308-karioja-dump.bin": dict(
        source=KAR_BMV, device="BMV-700 (PID 0x0203), FW 3.08", captured=True),
    "bluesolar-75-15-fw123-karioja-block1.bin": dict(
        source=VEC + KAR_BLUE + " block #1", device="BlueSolar MPPT 75/15 (PID 0xA042), FW 1.23", captured=True),
    "bmv700-fw308-karioja-checksum-colon.bin": dict(
        source=VEC + KAR_BMV + " block #512", device="BMV-700 (PID 0x0203), FW 3.08", captured=True),
    "smartshunt-500a-fw405-mppsolar-main-block.bin": dict(
        source=VEC + MPP + "[0] (main block)", device="SmartShunt 500A/50mV (PID 0xA389), FW 4.05", captured=True),
    "smartsolar-75-15-fw156-kindr007-uart-debug-block.bin": dict(
        source=VEC + KIN + "docs/smartsolar-mppt-example-pdus.txt (now docs/example-pdus.txt), leading CR LF added",
        device="SmartSolar MPPT 75/15 (PID 0xA053), FW 1.56", captured=True),
    "multi-rs-solar-fw109-kindr007-bad-checksum.bin": dict(
        source=VEC + KIN + "tests/fake-multi-rs-solar.yaml, leading CR LF added; checksum byte mangled in the YAML",
        device="Multi RS Solar (PID 0xA442), FWE 109FF", captured=True),
    "bluesolar-75-15-fw123-karioja-async-hex-between-blocks.bin": dict(
        source=VEC + KAR_BLUE + " blocks #51-#52", device="BlueSolar MPPT 75/15 (PID 0xA042), FW 1.23", captured=True),
    "smartsolar-150-70-rev3-fw316-kindr007-split-record-async-hex.bin": dict(
        source=VEC + KIN + "tests/fake-smartsolar-mppt-150-70-rev3.yaml, leading CR LF added",
        device="SmartSolar MPPT 150/70 rev3 (PID 0xA06C), FWE 316FF", captured=True),
    "smartsolar-75-15-fw156-kindr007-uart-debug-7-blocks.bin": dict(
        source=KIN + "docs/example-pdus.txt (commit 231f950b1640a2058a8115ca8924cd094e846677), leading CR LF added",
        device="SmartSolar MPPT 75/15 (PID 0xA053), FW 1.56", captured=True),
    "orion-xs-fw112-kindr007-checksum-cr.bin": dict(
        source=KIN + "tests/fake-orion-xs-0xa3f0.yaml (commit 2eb187e3a83dd387dc2f6cd0564cc1afff01aed2)",
        device="Orion XS DC-DC (PID 0xA3F0), FWE 112FF", captured=True),
    "bluesmart-ip65-fw325-kindr007-async-hex.bin": dict(
        source=KIN + "tests/fake-bluesmart-ip65-0xa30a.yaml (commit 019fd5badee4fe8594a4f942e20f3751474f7d76), leading CR LF added",
        device="Blue Smart IP65 charger (PID 0xA30A), FWE 0325FF", captured=True),
    "smartshunt-500a-fw405-mppsolar-read1.bin": dict(
        source=MPP + "[0]", device="SmartShunt 500A/50mV (PID 0xA389), FW 4.05", captured=True,
        first_block_truncated=True),
    "smartshunt-500a-fw405-mppsolar-read2.bin": dict(
        source=MPP + "[1]", device="SmartShunt 500A/50mV (PID 0xA389), FW 4.05", captured=True),
    "smartshunt-500a-fw405-mppsolar-read3.bin": dict(
        source=MPP + "[2]", device="SmartShunt 500A/50mV (PID 0xA389), FW 4.05", captured=True,
        first_block_truncated=True),
    "bmv712-fw403-vedirect-rs-partial-stream.bin": dict(
        source="dbr/vedirect-rs src/parser.rs (commit 0f471f938ab7d2c551b1764a53876cfecad53656) test_partial_stream",
        device="BMV-712 Smart (PID 0xA381), FW 4.03", captured=True, first_block_truncated=True),
}

# hex-frames.txt: one line per pure vedirect-hex vector of vectors-vedirect-can.json, in order
HEX_SOURCES = [
    ("victronenergy.com/live/vedirect_protocol:faq (Q3): Get battery capacity 0x1000", False),
    ("victronenergy.com/live/vedirect_protocol:faq (Q3): Get SOC 0x0FFF", False),
    ("community.victronenergy.com/questions/53356: device error reply to a malformed frame", True),
    ("community.victronenergy.com/questions/53356: product-id command", False),
    ("computed from the checksum rule: Get 0xEDAD load current", False),
    (KIN + "tests/fake-smartsolar-mppt-150-70-rev3.yaml: async 0x0120 uptime", True),
    (KIN + "tests/fake-smartsolar-mppt-150-70-rev3.yaml: async 0xEDBC panel power", True),
    (KIN + "tests/fake-smartsolar-mppt-150-70-rev3.yaml: async 0xEDD5 charger voltage", True),
    (KIN + "tests/fake-bluesmart-ip65-0xa30a.yaml: async 0xED8F battery current", True),
    ("dbr/vedirect-rs src/parser.rs test_mppt_stream_hex_messages: async 0x1050 history day 0", True),
    (KAR_BLUE + ": async 0x1050 history day 0", True),
]

HEXDIGITS = set(b"0123456789ABCDEFabcdef")


def hex_frame(text):
    """text: b':...' without the '\n'. Returns (ok, command, payload_hex)."""
    body = text[1:]
    if len(body) < 3 or (len(body) - 1) % 2 or not set(body) <= HEXDIGITS:
        return False, None, None
    cmd = int(body[:1], 16)
    raw = bytes.fromhex(body[1:].decode())
    payload, chk = raw[:-1], raw[-1]
    return (cmd + sum(payload) + chk) % 256 == 0x55, cmd, payload.hex().upper()


def parse_block(d, p):
    """Parse a block starting at d[p:p+2] == CR LF.  Returns (end, fields, cs_byte, sum_ok, hexes)
    or None when the data ends before the block does or the bytes are not block-shaped."""
    n = len(d)
    q, fields, hexes, total = p, [], [], 0
    while True:
        if q < n and d[q] == 0x3A:  # HEX frame at a field boundary inside the block
            e = d.find(b"\n", q)
            if e < 0:
                return None
            hexes.append((q, d[q:e]))
            q = e + 1
            continue
        if d[q:q + 2] != b"\r\n":
            return None
        t = d.find(b"\t", q + 2)
        if t < 0:
            return None
        label = d[q + 2:t]
        if not label or any(c < 0x20 or c > 0x7E for c in label):
            return None
        if label == b"Checksum":
            if t + 1 >= n:
                return None
            end = t + 2
            total += sum(d[q:end])
            return end, fields, d[t + 1], total % 256 == 0, hexes
        r = d.find(b"\r", t + 1)
        if r < 0:
            return None
        value = d[t + 1:r]
        if any(c < 0x20 or c > 0x7E for c in value):
            return None
        total += sum(d[q:r])
        fields.append([label.decode("ascii"), value.decode("ascii")])
        q = r


def scan(d, first_block_truncated=False):
    n, p = len(d), 0
    blocks, hexes = [], []
    leading = None
    skipped_first = False
    interblock_garbage = 0
    last_end = 0
    while p < n:
        if d[p] == 0x3A:
            e = d.find(b"\n", p)
            if e < 0:
                break
            ok, _, _ = hex_frame(d[p:e])
            hexes.append({"offset": p, "text": d[p:e].decode("ascii", "replace"), "checksum_ok": ok})
            p = last_end = e + 1
            continue
        if d[p:p + 2] == b"\r\n":
            r = parse_block(d, p)
            if r is not None:
                end, fields, cs, ok, inner = r
                for q, t in inner:
                    hok, _, _ = hex_frame(t)
                    hexes.append({"offset": q, "text": t.decode("ascii", "replace"), "checksum_ok": hok})
                if first_block_truncated and not skipped_first:
                    assert not ok, "block marked truncated verifies"
                    skipped_first = True
                    p = last_end = end
                    continue
                if leading is None:
                    leading = p
                elif p != last_end:
                    interblock_garbage += p - last_end
                blocks.append({"offset": p, "length": end - p, "checksum_ok": ok,
                               "fields": fields, "checksum_byte": cs})
                p = last_end = end
                continue
            # an unfinished block: does the rest of the file hold any further block?
            if d.find(b"Checksum\t", p) < 0:
                break
        p += 1
    if leading is None:
        leading = last_end
    return dict(blocks=blocks, hex_frames=sorted(hexes, key=lambda h: h["offset"]),
                leading_garbage_bytes=leading, trailing_garbage_bytes=n - last_end,
                interblock_garbage_bytes=interblock_garbage)


def dumps(manifest):
    """JSON with one block / HEX frame per line, so the file stays readable and diffable."""
    c = lambda o: json.dumps(o, separators=(",", ":"))
    out = ["["]
    for i, e in enumerate(manifest):
        lines = []
        for k, v in e.items():
            if k in ("blocks", "hex_frames"):
                inner = ",\n".join("   " + c(x) for x in v)
                lines.append(f"  {c(k)}:[" + ("\n" + inner + "\n  ]" if v else "]"))
            else:
                lines.append(f"  {c(k)}:{c(v)}")
        out.append(" {\n" + ",\n".join(lines) + "\n }" + ("," if i < len(manifest) - 1 else ""))
    out.append("]")
    return "\n".join(out) + "\n"


def main():
    manifest = []
    names = sorted(f for f in os.listdir(HERE) if f.endswith(".bin"))
    assert set(names) == set(FILES), set(names) ^ set(FILES)
    for name in names:
        d = open(os.path.join(HERE, name), "rb").read()
        meta = FILES[name]
        s = scan(d, meta.get("first_block_truncated", False))
        entry = {"file": name, "source": meta["source"], "device": meta["device"],
                 "captured": meta["captured"], "size": len(d),
                 "sha256": hashlib.sha256(d).hexdigest()}
        entry.update(s)
        manifest.append(entry)
    # hex-frames.txt
    d = open(os.path.join(HERE, "hex-frames.txt"), "rb").read()
    assert d.endswith(b"\n") and b"\r" not in d
    frames, off = [], 0
    lines = d.split(b"\n")[:-1]
    assert len(lines) == len(HEX_SOURCES), (len(lines), len(HEX_SOURCES))
    for line, (src, captured) in zip(lines, HEX_SOURCES):
        assert line.startswith(b":")
        ok, cmd, payload = hex_frame(line)
        frames.append({"offset": off, "text": line.decode("ascii"), "command": cmd,
                       "payload_hex": payload, "checksum_ok": ok, "source": src,
                       "captured": captured})
        off += len(line) + 1
    manifest.append({"file": "hex-frames.txt", "hex_frames": frames})
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        f.write(dumps(manifest))
    for e in manifest[:-1]:
        b = e["blocks"]
        print(f"{e['file']:62s} {e['size']:7d} B  blocks {len(b):4d} ok {sum(x['checksum_ok'] for x in b):4d} "
              f"hex {len(e['hex_frames']):2d} (ok {sum(h['checksum_ok'] for h in e['hex_frames'])}) "
              f"lead {e['leading_garbage_bytes']} trail {e['trailing_garbage_bytes']} gap {e['interblock_garbage_bytes']}")
    print("hex-frames.txt", len(frames), "frames, ok", sum(f["checksum_ok"] for f in frames))


if __name__ == "__main__":
    main()
