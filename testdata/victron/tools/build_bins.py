#!/usr/bin/env python3
"""Write the .bin captures in testdata/victron/ from their sources.

usage: build_bins.py VECTORS_JSON KARIOJA_RAW_DIR OUT_DIR
  VECTORS_JSON     shared/testdata/vectors-vedirect-can.json
  KARIOJA_RAW_DIR  output folder of reconstruct_karioja.py (bluesolar.raw, smartsolar.raw, bmv702.raw)
  OUT_DIR          testdata/victron

Bytes copied from public files are written here as Python bytes literals, exactly as the source
file spells them (the source is named next to each); the only edits are the ones listed in
EDITS (a leading CR LF added where the recorder dropped it).
"""
import json, os, sys

# -- extra real captures (bytes literals transcribed from the named files) -----------------------

# KinDR007/VictronMPPT-ESPHOME docs/example-pdus.txt (commit 231f950b1640a2058a8115ca8924cd094e846677):
# ESPHome uart_debug log of a SmartSolar MPPT 75/15 (PID 0xA053, FW 1.56), 16:43:13..16:43:19.
# The log shows 7 identical blocks; each "\r\n" after a checksum byte is the next block's start.
_KIN_BLOCK = (b"PID\t0xA053\r\nFW\t156\r\nSER#\tHQ1942K7LJ8\r\nV\t12450\r\nI\t0\r\nVPV\t10\r\nPPV\t0\r\n"
              b"CS\t0\r\nMPPT\t0\r\nOR\t0x00000001\r\nERR\t0\r\nLOAD\tON\r\nIL\t0\r\nH19\t3\r\nH20\t0\r\n"
              b"H21\t24\r\nH22\t1\r\nH23\t15\r\nHSDS\t3\r\nChecksum\t\xE1")
KIN_PDUS = b"\r\n" + b"\r\n".join([_KIN_BLOCK] * 7)   # leading CR LF added (not in the log)

# KinDR007/VictronMPPT-ESPHOME tests/fake-orion-xs-0xa3f0.yaml (commit 2eb187e3a83dd387dc2f6cd0564cc1afff01aed2):
# Orion XS DC-DC (PID 0xA3F0, FWE 112FF) output replayed by an ESPHome emulator config.
ORION = (b"\r\nPID\t0xA3F0\r\nFWE\t112FF\r\nSER#\tHQ2433EWGZZ\r\nV\t13220\r\nI\t0\r\nP\t0\r\n"
         b"DC_IN_V\t1262\r\nDC_IN_I\t0\r\nDC_IN_P\t0\r\nCS\t0\r\nOR\t0x00000009\r\nERR\t0\r\nChecksum\t\x0d"
         b"\r\nPID\t0xA3F0\r\nFWE\t112FF\r\nSER#\tHQ2433EWGZZ\r\nV\t13230\r\nI\t0\r\nP\t0\r\n"
         b"DC_IN_V\t1263\r\nDC_IN_I\t0\r\nDC_IN_P\t0\r\nCS\t0\r\nOR\t0x00000009\r\nERR\t0\r\nChecksum\t\x0b")

# KinDR007/VictronMPPT-ESPHOME tests/fake-bluesmart-ip65-0xa30a.yaml (commit 019fd5badee4fe8594a4f942e20f3751474f7d76):
# Blue Smart IP65 charger (PID 0xA30A, FWE 0325FF); async HEX frames follow each checksum byte;
# the file's last "\r\n" is the start of a block that was not sent (trailing bytes).
IP65 = (b"\r\n"  # leading CR LF added (the config writes it at the end of the previous cycle)
        b"PID\t0xA30A\r\nFWE\t0325FF\r\nSER#\tHQ2232GGMEH\r\nV\t14200\r\nI\t1000\r\nERR\t0\r\nCS\t4\r\n"
        b"HC#\t136663\r\nChecksum\t\x13"
        b":A8FED000D00C2\n:A8CED001E050000AF\n:AD7ED000D007A\n:A200100560C0000C8\n"
        b"\r\nPID\t0xA30A\r\nFWE\t0325FF\r\nSER#\tHQ2232GGMEH\r\nV\t14190\r\nI\t1000\r\nERR\t0\r\nCS\t4\r\n"
        b"HC#\t136663\r\nChecksum\t\x0b:A8DED008C0540\n"
        b":A8FED000800C7\n:A8CED00EE020000E2\n:AD5ED008C05F8\n:AD7ED0008007F\n:A2001005F0C0000BF\n"
        b"\r\n")

# jblance/mpp-solar mppsolar/protocols/ved.py (commit 18df43b52e5fd5d77f8ba3d9ce9a3145ffe59bfe),
# COMMANDS["vedtext"]["test_responses"][0..2]: three serial reads from a SmartShunt 500A/50mV
# (PID 0xA389, FW 4.05), history block then main block.
MPP_READS = [
    b"H1\t-32914\r\nH2\t0\r\nH3\t0\r\nH4\t0\r\nH5\t0\r\nH6\t-35652\r\nH7\t12041\r\nH8\t14282\r\nH9\t0\r\nH10\t0\r\nH11\t0\r\nH12\t0\r\nH15\t-22\r\nH16\t0\r\nH17\t46\r\nH18\t48\r\nChecksum\t\x1a\r\nPID\t0xA389\r\nV\t12865\r\nVS\t-14\r\nI\t0\r\nP\t0\r\nCE\t0\r\nSOC\t1000\r\nTTG\t-1\r\nAlarm\tOFF\r\nAR\t0\r\nBMV\tSmartShunt 500A/50mV\r\nFW\t0405\r\nChecksum\tL\r\n",
    b"\x00L\r\nH1\t-32914\r\nH2\t0\r\nH3\t0\r\nH4\t0\r\nH5\t0\r\nH6\t-35652\r\nH7\t12041\r\nH8\t14282\r\nH9\t0\r\nH10\t0\r\nH11\t0\r\nH12\t0\r\nH15\t-22\r\nH16\t0\r\nH17\t46\r\nH18\t48\r\nChecksum\t\x1a\r\nPID\t0xA389\r\nV\t12868\r\nVS\t-12\r\nI\t0\r\nP\t0\r\nCE\t0\r\nSOC\t1000\r\nTTG\t-1\r\nAlarm\tOFF\r\nAR\t0\r\nBMV\tSmartShunt 500A/50mV\r\nFW\t0405\r\nChecksum\tK\r",
    b"\nH1\t-32914\r\nH2\t0\r\nH3\t0\r\nH4\t0\r\nH5\t0\r\nH6\t-35652\r\nH7\t12041\r\nH8\t14282\r\nH9\t0\r\nH10\t0\r\nH11\t0\r\nH12\t0\r\nH15\t-22\r\nH16\t0\r\nH17\t46\r\nH18\t48\r\nChecksum\t\x1a\r\nPID\t0xA389\r\nV\t12868\r\nVS\t-13\r\nI\t0\r\nP\t0\r\nCE\t0\r\nSOC\t1000\r\nTTG\t-1\r\nAlarm\tOFF\r\nAR\t0\r\nBMV\tSmartShunt 500A/50mV\r\nFW\t0405\r\nChecksum\tJ\r",
]

# dbr/vedirect-rs src/parser.rs (commit 0f471f938ab7d2c551b1764a53876cfecad53656), test_partial_stream:
# BMV-712 Smart (PID 0xA381, FW 4.03) stream starting mid-block.  \u{4} and \u{3} are the bytes 0x04, 0x03.
VRS_BMV712 = (b"\r\nH18\t2415\r\nChecksum\t\x04\r\nPID\t0xA381\r\nV\t12282\r\nVS\t29\r\nI\t-2288\r\nP\t-28\r\n"
              b"CE\t-74900\r\nSOC\t916\r\nTTG\t10350\r\nAlarm\tOFF\r\nRelay\tOFF\r\nAR\t0\r\nBMV\t712 Smart\r\n"
              b"FW\t0403\r\nChecksum\t~\r\nH1\t-76138\r\nH2\t-76138\r\nH3\t0\r\nH4\t0\r\nH5\t0\r\nH6\t-1876218\r\n"
              b"H7\t12171\r\nH8\t20418\r\nH9\t1199744\r\nH10\t0\r\nH11\t0\r\nH12\t0\r\nH15\t20\r\nH16\t21033\r\n"
              b"H17\t2404\r\nH18\t2415\r\nChecksum\t\x03\r\nPID\t0xA381\r\n")

# -- JSON vectors: file name per vector index ---------------------------------------------------
VECTOR_FILES = {
    0: "bluesolar-75-15-fw123-karioja-block1.bin",
    1: "bmv700-fw308-karioja-checksum-colon.bin",
    2: "smartshunt-500a-fw405-mppsolar-main-block.bin",
    3: "smartsolar-75-15-fw156-kindr007-uart-debug-block.bin",
    4: "multi-rs-solar-fw109-kindr007-bad-checksum.bin",
    5: "bluesolar-75-15-fw123-karioja-async-hex-between-blocks.bin",
    6: "smartsolar-150-70-rev3-fw316-kindr007-split-record-async-hex.bin",
}


def main():
    vec_path, raw_dir, out = sys.argv[1:4]
    vectors = json.load(open(vec_path))
    files = {}
    text_idx = [i for i, e in enumerate(vectors) if e.get("protocol") in ("vedirect-text", "vedirect-text+hex")]
    assert sorted(text_idx) == sorted(VECTOR_FILES), text_idx
    for i in text_idx:
        files[VECTOR_FILES[i]] = bytes.fromhex(vectors[i]["data_hex"])
    # pure HEX vectors -> hex-frames.txt, one frame per line, '\n' line ends
    lines = []
    for e in vectors:
        if e.get("protocol") == "vedirect-hex":
            d = e["data"].replace("\\n", "\n")
            assert d.startswith(":") and d.endswith("\n") and d.count("\n") == 1, d
            lines.append(d)
    files["hex-frames.txt"] = "".join(lines).encode("ascii")

    raw = lambda n: open(os.path.join(raw_dir, n), "rb").read()
    files["bluesolar-75-15-fw123-karioja-dump.bin"] = raw("bluesolar.raw")
    files["smartsolar-100-20-fw139-karioja-dump.bin"] = raw("smartsolar.raw")
    # the stored text is one character longer than the reconstruction and ends inside an
    # unfinished block right after "BMV\t700": that character is the CR the display hides.
    files["bmv700-fw308-karioja-dump.bin"] = raw("bmv702.raw") + b"\r"
    files["smartsolar-75-15-fw156-kindr007-uart-debug-7-blocks.bin"] = KIN_PDUS
    files["orion-xs-fw112-kindr007-checksum-cr.bin"] = ORION
    files["bluesmart-ip65-fw325-kindr007-async-hex.bin"] = IP65
    for k, d in enumerate(MPP_READS, 1):
        files[f"smartshunt-500a-fw405-mppsolar-read{k}.bin"] = d
    files["bmv712-fw403-vedirect-rs-partial-stream.bin"] = VRS_BMV712

    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{len(data):8d}  {name}")


if __name__ == "__main__":
    main()
