#!/usr/bin/env bash
# breakit.sh: the guarantee table of docs/testing.md, executable. Each
# e2e/breakit/NN-name.patch removes one guarantee; its header names the tests
# that must catch it ("Tests: A B") and, optionally, build tags they need
# besides e2e ("Tags: laravel": the real Laravel app, so PHP is installed).
# For every patch this applies it to a
# scratch copy of the working tree, runs those tests there and requires each
# of them to FAIL; then it runs every named test on the unpatched tree and
# requires them to PASS.
#
#   BREAKIT_PATCHES="01 05"   only the patches whose names start so (default: all)
#   BREAKIT_CHANGED=REF       only the patches for code that changed since git REF (the
#                             files a patch edits); make breakit-ci uses HEAD~1, the
#                             change under test
#   BREAKIT_BASELINE=0        skip the unpatched run
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"

# patch_tests PATCH: the test names of its "Tests:" header line.
patch_tests() { sed -n 's/^Tests: //p' "$1" | head -n 1; }

# patch_tags PATCH: the build tags of its "Tags:" header line (none: only e2e).
patch_tags() { sed -n 's/^Tags: //p' "$1" | head -n 1; }

# patch_touched PATCH REF: whether a file PATCH edits differs from git REF (the
# patch file itself does not count: make breakit checks a new or changed patch).
patch_touched() {
  local changed
  changed=$(git diff --name-only "$2" -- 2>/dev/null; git ls-files -o --exclude-standard)
  local f
  for f in $(sed -n 's|^+++ b/||p' "$1"); do
    grep -qxF "$f" <<<"$changed" && return 0
  done
  return 1
}

# run_tests DIR TAGS TESTS…: go test of the named e2e tests in DIR, built with the tags
# e2e and TAGS; prints go test's output.
run_tests() {
  local dir=$1 tags=$2
  shift 2
  local re
  re="^($(tr ' ' '|' <<<"$*"))\$"
  [[ " $tags " != *" laravel "* ]] || ensure_php
  (cd "$dir" && CGO_ENABLED=0 go test -tags "e2e $tags" -count=1 -timeout "${BREAKIT_TIMEOUT:-10m}" -v -run "$re" ./e2e/ 2>&1)
}

main() {
  cd "$ROOT"
  ensure_go
  ensure_docker
  ensure_redis_image
  testcontainers_env
  export E2E_IMAGE=0 # the patches break the gateway's code, not its image
  local scratch=${TMPDIR:-/tmp}/wagateway-breakit patch name tests tags alltags="" t out failed=0 start all=() rows=()
  local begin
  begin=$(date +%s)
  # One scratch copy, patched and unpatched in turn: a fixed path keeps the build cache warm.
  rm -rf "$scratch" && mkdir -p "$scratch/src"
  git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$scratch/src"
  for patch in e2e/breakit/*.patch; do
    name=$(basename "$patch" .patch)
    if [ -n "${BREAKIT_PATCHES:-}" ] && ! grep -qE "^($(tr ' ' '|' <<<"$BREAKIT_PATCHES"))" <<<"$name"; then
      continue
    fi
    if [ -n "${BREAKIT_CHANGED:-}" ] && ! patch_touched "$patch" "$BREAKIT_CHANGED"; then
      rows+=("skipped $name: nothing it breaks changed since $BREAKIT_CHANGED")
      continue
    fi
    tests=$(patch_tests "$patch")
    [ -n "$tests" ] || die breakit "$patch has no Tests: line"
    all+=($tests)
    tags=$(patch_tags "$patch")
    alltags=$(tr ' ' '\n' <<<"$alltags $tags" | sort -u | xargs)
    (cd "$scratch/src" && git apply "$ROOT/$patch") || die breakit "$patch does not apply to the working tree: refresh it"
    log breakit "$name: expecting $tests to fail"
    start=$(date +%s)
    out=$scratch/$name.log
    run_tests "$scratch/src" "$tags" $tests >"$out" || true
    (cd "$scratch/src" && git apply -R "$ROOT/$patch")
    for t in $tests; do
      if grep -q -- "^--- FAIL: $t " "$out"; then
        rows+=("caught  $name: $t failed ($(($(date +%s) - start)) s)")
      else
        rows+=("MISSED  $name: $t did not fail (log: $out)")
        tail -n 15 "$out" >&2
        failed=1
      fi
    done
  done
  if [ "${BREAKIT_BASELINE:-1}" != 0 ] && [ ${#all[@]} -gt 0 ]; then
    mapfile -t all < <(printf '%s\n' "${all[@]}" | sort -u)
    log breakit "unpatched tree: expecting ${all[*]} to pass"
    start=$(date +%s)
    out=$scratch/unpatched.log
    if run_tests "$ROOT" "$alltags" "${all[@]}" >"$out"; then
      rows+=("passes  unpatched tree: ${#all[@]} tests ($(($(date +%s) - start)) s)")
    else
      rows+=("FAILED  unpatched tree (log: $out)")
      grep -E '^(--- FAIL|FAIL|panic)' "$out" >&2 || tail -n 20 "$out" >&2
      failed=1
    fi
  fi
  printf '%s\n' "${rows[@]}"
  log breakit "done in $(($(date +%s) - begin)) s"
  [ "$failed" = 0 ] || die breakit "a guarantee is not caught by its test, or the unpatched tree fails"
}

main "$@"
