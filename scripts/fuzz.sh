#!/usr/bin/env bash
# fuzz.sh: runs every Go fuzz target (func FuzzXxx in *_test.go) for FUZZTIME
# each (default 10s), one at a time (go test -fuzz takes one target), and
# prints what ran, for how long, and whether it found anything.
# FUZZ_PKGS="./service/http ./mocklaravel" limits the packages.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

main() {
  cd "$ROOT"
  ensure_go
  local fuzztime=${FUZZTIME:-10s} pkgs pkg target failed=0 start took summary=()
  if [ -n "${FUZZ_PKGS:-}" ]; then
    pkgs=$FUZZ_PKGS
  else
    pkgs=$(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | xargs -n1 dirname | sort -u | sed 's|^|./|')
  fi
  for pkg in $pkgs; do
    for target in $(CGO_ENABLED=0 go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
      log fuzz "$pkg $target for $fuzztime"
      start=$(date +%s)
      # -parallel 2: the machines have 2 cores, shared with whatever else runs.
      if CGO_ENABLED=0 go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg" >"${TMPDIR:-/tmp}/fuzz-$target.log" 2>&1; then
        took=$(($(date +%s) - start))
        summary+=("ok     $pkg $target ${took}s, no finding")
      else
        took=$(($(date +%s) - start))
        summary+=("FAIL   $pkg $target after ${took}s: see ${TMPDIR:-/tmp}/fuzz-$target.log and $pkg/testdata/fuzz/$target/")
        tail -n 30 "${TMPDIR:-/tmp}/fuzz-$target.log" >&2
        failed=1
      fi
    done
  done
  printf '%s\n' "${summary[@]}"
  [ "$failed" = 0 ] || die fuzz "a fuzz target found a failing input (kept in testdata/fuzz: commit it as a regression seed once fixed)"
}

main "$@"
