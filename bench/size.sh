#!/usr/bin/env bash
# Size/RAM report with budgets: builds one no_std probe per protocol crate for
# thumbv7em-none-eabihf (opt-level "s", LTO, panic=abort, codegen-units=1; see size/Cargo.toml),
# prints .text/.rodata and size_of of the decoders and messages, and fails above the budgets
# (<= 16 KiB .text per crate, decoders and caller-sized messages <= 1 KiB at their smallest
# sensible size).
set -euo pipefail
cd "$(dirname "$0")/size"
target=thumbv7em-none-eabihf
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/voltwire-target}/size"
bins=$(cd src/bin && ls *.rs | sed "s/\.rs$//")
cargo build --quiet --release --target "$target" --bins
paths=()
for bin in $bins; do paths+=("$CARGO_TARGET_DIR/$target/release/$bin"); done
python3 report.py "${paths[@]}"
