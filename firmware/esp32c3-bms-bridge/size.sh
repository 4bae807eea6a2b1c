#!/bin/sh
# Build the firmware in release and check its size budget:
#   flash      = .text* + .rodata*            ≤ 1 MiB   (code and constants in flash)
#   static RAM = .data* + .bss*               ≤ 200 KiB (excludes the stack region)
# Also printed, not gated: the IRAM code (.trap, .rwtext*) and the whole flash image.
# Sections are read from the ELF section headers (Python, no binutils needed).
# Usage: size.sh [cargo build options…]   e.g. size.sh --no-default-features
# FLASH_MAX_KIB / RAM_MAX_KIB override the budgets (e.g. to see the gate fail).
set -eu
cd "$(dirname "$0")"
: "${CARGO_TARGET_DIR:=$(pwd)/target}"
export CARGO_TARGET_DIR
cargo build --release --locked "$@"
elf="$CARGO_TARGET_DIR/riscv32imc-unknown-none-elf/release/esp32c3-bms-bridge"
python3 - "$elf" <<'PY'
import struct, sys

import os
FLASH_MAX = int(os.environ.get("FLASH_MAX_KIB", "1024")) * 1024
RAM_MAX = int(os.environ.get("RAM_MAX_KIB", "200")) * 1024
path = sys.argv[1]
data = open(path, "rb").read()
if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
    sys.exit(f"{path}: not a 32-bit little-endian ELF")
shoff, = struct.unpack_from("<I", data, 0x20)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)

def header(i):
    # name, type, flags, addr, offset, size
    return struct.unpack_from("<IIIIII", data, shoff + i * shentsize)

strtab = header(shstrndx)
def name(off):
    start = strtab[4] + off
    return data[start:data.index(b"\0", start)].decode()

SHF_ALLOC, SHT_NOBITS = 0x2, 8
sections = []
for i in range(shnum):
    n, typ, flags, addr, off, size = header(i)
    if flags & SHF_ALLOC:
        sections.append((name(n), typ, size))

def total(prefixes, nobits_ok=True):
    return sum(s for n, t, s in sections
               if any(n == p or n.startswith(p + ".") for p in prefixes)
               and "dummy" not in n and (nobits_ok or t != SHT_NOBITS))

flash = total([".text", ".rodata"])
ram = total([".data", ".bss"])
iram = total([".trap", ".rwtext"])
image = sum(s for n, t, s in sections if t != SHT_NOBITS and "dummy" not in n
            and not n.startswith(".rtc"))
print(f"flash (.text + .rodata): {flash:>8} B  {flash / 1024:7.1f} KiB  (budget {FLASH_MAX // 1024} KiB)")
print(f"static RAM (.data + .bss): {ram:>6} B  {ram / 1024:7.1f} KiB  (budget {RAM_MAX // 1024} KiB)")
print(f"IRAM code (.trap + .rwtext): {iram:>4} B  {iram / 1024:7.1f} KiB  (not gated)")
print(f"flash image (all loaded sections): {image} B  {image / 1024:.1f} KiB  (not gated)")
bad = []
if flash > FLASH_MAX:
    bad.append(f"flash {flash} B > {FLASH_MAX} B")
if ram > RAM_MAX:
    bad.append(f"static RAM {ram} B > {RAM_MAX} B")
if bad:
    sys.exit("size budget exceeded: " + "; ".join(bad))
print("size budget: ok")
PY
