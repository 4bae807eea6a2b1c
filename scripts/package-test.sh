#!/usr/bin/env bash
# Packages every protocol crate (`cargo package --no-verify`), unpacks each `.crate` into a
# temporary workspace whose `[patch.crates-io]` points the voltwire-* dependencies at the
# unpacked siblings (none is on crates.io yet), and runs each crate's tests there, offline,
# with the repository's Cargo.lock: what a user of the published crates would build and test.
# Usage: scripts/package-test.sh [crate-suffix...]   (default: every protocol crate)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/voltwire-target}"

all=(core victron daly jk asciihex pace pylontech meanwell slcan modbus ess bms-rules soyosource zero-feed-in-rules)
if [ "$#" -gt 0 ]; then tested=("$@"); else tested=("${all[@]}"); fi

# Every protocol crate is packaged (the tested ones depend on their siblings).
cargo package --no-verify --allow-dirty $(printf -- '-p voltwire-%s ' "${all[@]}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(cargo metadata --no-deps --format-version 1 \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="voltwire-core"))')
{
  echo '[workspace]'
  echo 'resolver = "3"'
  printf 'members = [%s]\n' "$(printf '"voltwire-%s-'"$version"'",' "${all[@]}")"
  echo '[patch.crates-io]'
  for c in "${all[@]}"; do
    echo "voltwire-$c = { path = \"voltwire-$c-$version\" }"
  done
} > "$work/Cargo.toml"
# `-m`: the files get the time of extraction, not the fixed mtime cargo writes into a .crate,
# so cargo rebuilds the unpacked crates instead of reusing test binaries of an earlier run
# (which have that run's temporary CARGO_MANIFEST_DIR compiled in).
for c in "${all[@]}"; do
  tar -m -xzf "$CARGO_TARGET_DIR/package/voltwire-$c-$version.crate" -C "$work"
done
# The dependency versions CI already has (and has cached): resolve offline from them.
cp "$root/Cargo.lock" "$work/Cargo.lock"

cd "$work"
for c in "${tested[@]}"; do
  echo "--- voltwire-$c (unpacked from voltwire-$c-$version.crate)"
  cargo test --offline --all-features -p "voltwire-$c" 2>&1 | tee "$work/test-$c.log" \
    | grep -E '^(test result|error|warning: unused|     Running)' || true
  if ! grep -q '^test result' "$work/test-$c.log" || grep -qE '^test result: FAILED|^error' "$work/test-$c.log"; then
    tail -n 40 "$work/test-$c.log"
    echo "packaged tests of voltwire-$c failed"
    exit 1
  fi
  awk '/^test result/ {p+=$4} END {print "voltwire-'"$c"': " p " passed"}' "$work/test-$c.log"
done
