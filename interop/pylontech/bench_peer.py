#!/usr/bin/env python3
"""Frames/s of python-pylontech 0.3.3 decoding the same 0x42 replies the Rust bench
(bench/benches/pylontech_rs485.rs) decodes: the three valid real 0x42 captures of
testdata/pylontech/rs485. Per frame it runs what `get_values_single`/`get_values` run after
reading: `_decode_hw_frame` (CHKSUM check), `_decode_frame` (envelope) and the construct
parser of the INFO. No serial port is opened.

Usage: /tmp/pyl-venv/bin/python interop/pylontech/bench_peer.py
"""
import os
import time

from pylontech import Pylontech

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata", "pylontech", "rs485")
CAPTURES = [
    ("us2000-resp-0x42-all-3-modules.bin", True),
    ("us5000-resp-0x42.bin", False),
    ("up5000-resp-0x42.bin", False),
]


def main():
    p = Pylontech.__new__(Pylontech)  # no port: the decoders only
    frames = [(open(os.path.join(DIR, f), "rb").read(), all_) for f, all_ in CAPTURES]
    reps = 300
    t = time.perf_counter()
    cells = 0
    for _ in range(reps):
        for raw, all_ in frames:
            f = p._decode_frame(p._decode_hw_frame(raw_frame=raw))
            if all_:
                d = p.get_values_fmt.parse(f.info[1:])
                cells += sum(m.NumberOfCells for m in d.Module)
            else:
                d = p.get_values_single_fmt.parse(f.info[1:])
                cells += d.NumberOfCells
    dt = time.perf_counter() - t
    n = reps * len(frames)
    print(f"python-pylontech 0.3.3 decode: {n} frames ({cells} cells) in {dt:.3f} s = {n / dt:.0f} frames/s")


main()
