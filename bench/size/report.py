#!/usr/bin/env python3
"""Size/RAM report of the no_std probes (bench/size.sh): reads each probe's ELF section
headers (no binutils needed), prints .text/.rodata and the size_of table the probe stores in
its .vw_sizes section, and exits 1 when a budget is exceeded."""
import struct
import sys

TEXT_BUDGET = 16 * 1024  # bytes of .text per protocol crate's probe
DECODER_BUDGET = 1024  # bytes of RAM per decoder at its smallest sensible size
MESSAGE_BUDGET = 1024  # bytes of RAM per caller-sized message at its smallest sensible size
BUDGETS = {1: DECODER_BUDGET, 2: MESSAGE_BUDGET}

# Probes still above TEXT_BUDGET (issue 14), with the size they may not exceed: a ratchet,
# so they can only shrink. Lower a ceiling when a probe shrinks; drop the entry once it is
# under TEXT_BUDGET.
CEILINGS = {
}


def sections(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        sys.exit(f"{path}: not a 32-bit little-endian ELF file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    out = {}
    for h in headers:
        start = strtab[4] + h[0]
        name = data[start:data.index(b"\0", start)].decode()
        out[name] = (h[5], data[h[4]:h[4] + h[5]])  # size, contents
    return out


def main():
    failed = []
    notes = []
    rows = []
    types = []
    for path in sys.argv[1:]:
        name = path.rsplit("/", 1)[-1]
        secs = sections(path)
        text = secs.get(".text", (0, b""))[0]
        rodata = secs.get(".rodata", (0, b""))[0]
        rows.append((name, text, rodata))
        limit = max(TEXT_BUDGET, CEILINGS.get(name, 0))
        if text > limit:
            failed.append(f"{name}: .text {text} B > {limit} B")
        elif name in CEILINGS and text <= TEXT_BUDGET:
            notes.append(f"{name} is under budget now: remove it from CEILINGS")
        elif name in CEILINGS and text < CEILINGS[name]:
            notes.append(f"{name} shrank to {text} B: lower its ceiling")
        table = secs.get(".vw_sizes", (0, b""))[1]
        for off in range(0, len(table) - 63, 64):
            raw, kind, size = struct.unpack_from("<56sII", table, off)
            tname = raw.rstrip(b"\0").decode()
            types.append((tname, kind, size))
            if kind in BUDGETS and size > BUDGETS[kind]:
                failed.append(f"{tname}: {size} B > {BUDGETS[kind]} B")
    print(f"{'probe':<18}{'.text':>8}{'.rodata':>9}   (budget .text <= {TEXT_BUDGET} B)")
    for name, text, rodata in rows:
        flag = f"  over budget (ceiling {CEILINGS[name]} B, issue 14)" if name in CEILINGS and text > TEXT_BUDGET else ("  OVER" if text > TEXT_BUDGET else "")
        print(f"{name:<18}{text:>8}{rodata:>9}{flag}")
    print(f"\n{'type (size_of on the target)':<56}{'bytes':>7}   (decoders <= {DECODER_BUDGET} B, messages <= {MESSAGE_BUDGET} B)")
    for tname, kind, size in types:
        flag = "  OVER" if kind in BUDGETS and size > BUDGETS[kind] else ("" if kind in BUDGETS else "  (info)")
        print(f"{tname:<56}{size:>7}{flag}")
    for n in notes:
        print("note: " + n)
    if failed:
        print("\nover budget:\n  " + "\n  ".join(failed))
        sys.exit(1)


main()
