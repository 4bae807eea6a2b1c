#!/usr/bin/env bash
# Mutation check of the safety rules of `crates/ess` (issue 21): every mutant that
# cargo-mutants makes of combine.rs, policy.rs, output.rs and setpoint.rs must be caught by
# the crate's tests. Slow (about 150 mutants, each an incremental build of voltwire-ess and
# its test targets): NOT part of .ci/run; run it by hand after changing those files.
#
#   scripts/mutants.sh                 # every mutant of the four files
#   scripts/mutants.sh --iterate       # only those not caught by the previous run
#   MUTANTS_JOBS=2 scripts/mutants.sh  # more parallel builds
#
# Mutants are built in a copy of the tree (cargo-mutants' default), with their own target
# directory (`$CARGO_TARGET_DIR/mutants`), so the checkout and its build cache are not
# touched. Doc tests are skipped (`--tests`): the crate's README example is not a rule.
# Results: `$MUTANTS_OUT/mutants.out/` (caught.txt, missed.txt, timeout.txt, unviable.txt);
# the per-file counts are printed at the end. Survivors listed in
# scripts/mutants-equivalent.txt (equivalent mutants, each with its reason) are accepted;
# exit status 0 when every other mutant is caught or unviable, else cargo-mutants' (2 = some
# missed, 3 = some timed out).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null 2>&1 || cargo install cargo-mutants --locked

base="${CARGO_TARGET_DIR:-$HOME/.cache/voltwire-target}"
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$base/mutants}"
out="${MUTANTS_OUT:-$CARGO_TARGET_DIR}"
files=(crates/ess/src/combine.rs crates/ess/src/policy.rs crates/ess/src/output.rs crates/ess/src/setpoint.rs)

args=(-p voltwire-ess -j "${MUTANTS_JOBS:-1}" --timeout 60 --cargo-test-arg=--tests -o "$out" --colors never)
for f in "${files[@]}"; do args+=(-f "$f"); done

start=$SECONDS
status=0
cargo mutants "${args[@]}" "$@" || status=$?
echo
echo "=== cargo mutants took $((SECONDS - start)) s (exit status $status)"
printf '%-28s %7s %7s %9s %8s\n' file caught missed unviable timeout
for f in "${files[@]}"; do
  n() { grep -c "^$f:" "$out/mutants.out/$1.txt" 2>/dev/null || true; }
  printf '%-28s %7s %7s %9s %8s\n' "$f" "$(n caught)" "$(n missed)" "$(n unviable)" "$(n timeout)"
done

# Survivors that are not known equivalents.
allow=scripts/mutants-equivalent.txt
unexpected=$(sed -E 's/^([^:]+):[0-9]+:[0-9]+:/\1:/' "$out/mutants.out/missed.txt" 2>/dev/null \
  | grep -vxF -f <(grep -v '^#' "$allow" | grep -v '^$') || true)
equivalent=$(grep -c . "$out/mutants.out/missed.txt" 2>/dev/null || true)
if [ -n "$unexpected" ]; then
  echo "=== missed, not known to be equivalent:"
  echo "$unexpected"
elif [ "$status" -eq 2 ]; then
  echo "=== every survivor ($equivalent) is a known equivalent mutant ($allow)"
  status=0
fi
exit "$status"
