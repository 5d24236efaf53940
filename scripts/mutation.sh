#!/usr/bin/env bash
# mutation.sh: mutation testing (gremlins, pinned by the tool line in go.mod) of the
# delivery core, one package at a time. Prints each package's efficacy (killed /
# (killed + lived)) and every surviving mutant with its source line, and fails
# when a package is below MUTATION_MIN percent (default 85).
#
#   MUTATION_PKGS="delivery inmem"   packages under service/ (default: all six below)
#   MUTATION_WORKERS=1               mutants tested at once (default 2: the machines have 2 cores)
#   MUTATION_TIMEOUT_COEFFICIENT=N   gremlins' timeout multiplier (see timeout_coefficient)
#   MUTATION_OUT=dir                 where the JSON reports and logs go (default /tmp/wagateway-mutation)
#
# docs/mutation.md explains every mutant that survives.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ALL_PKGS="session delivery redis inmem laravel"

# timeout_coefficient PKG: gremlins times a mutant out after (duration of its coverage
# run) x this. The coverage run of a small, cached package takes under a second, while
# each mutant needs a fresh compile and link on busy cores, so the fast packages get a
# large multiplier; Redis's coverage run already takes seconds of real test time.
timeout_coefficient() {
  if [ -n "${MUTATION_TIMEOUT_COEFFICIENT:-}" ]; then
    echo "$MUTATION_TIMEOUT_COEFFICIENT"
    return
  fi
  case $1 in
  redis) echo 8 ;;
  *) echo 30 ;;
  esac
}

main() {
  cd "$ROOT"
  ensure_go
  have jq || apt_install jq
  [ -n "$(command -v redis-server)" ] || apt_install redis-server
  local pkgs=${MUTATION_PKGS:-$ALL_PKGS} out=${MUTATION_OUT:-${TMPDIR:-/tmp}/wagateway-mutation}
  local min=${MUTATION_MIN:-85} workers=${MUTATION_WORKERS:-2} failed=0 start took pkg rows=()
  mkdir -p "$out"
  local begin
  begin=$(date +%s)
  for pkg in $pkgs; do
    log mutation "service/$pkg (workers $workers, timeout x$(timeout_coefficient "$pkg"))"
    start=$(date +%s)
    # Warm the build cache first: gremlins' per-mutant timeout is a multiple of its
    # coverage run, which must not include a cold compile of the dependencies.
    # Every run is -short (through GOFLAGS, which gremlins' go test inherits): the
    # load tests that skip in short mode (Redis's 40-s outage bound) would cost each
    # mutant their full length (docs/mutation.md).
    GOFLAGS="-short ${GOFLAGS:-}" CGO_ENABLED=0 go test -count=1 -cover "./service/$pkg" >/dev/null
    if ! GOFLAGS="-short ${GOFLAGS:-}" CGO_ENABLED=0 go tool gremlins unleash --workers "$workers" \
      --timeout-coefficient "$(timeout_coefficient "$pkg")" \
      -o "$out/$pkg.json" "./service/$pkg" >"$out/$pkg.log" 2>&1; then
      tail -n 20 "$out/$pkg.log" >&2
      die mutation "gremlins failed on service/$pkg (log: $out/$pkg.log)"
    fi
    took=$(($(date +%s) - start))
    rows+=("$(summarise "$pkg" "$out/$pkg.json" "$min" "$took")") || failed=1
    printf '%s\n' "${rows[-1]}"
    survivors "$pkg" "$out/$pkg.json"
  done
  printf '\n%-18s %8s %7s %6s %9s %11s %6s\n' package efficacy killed lived timed-out not-covered time
  printf '%s\n' "${rows[@]}"
  log mutation "all packages in $(($(date +%s) - begin)) s; reports in $out"
  [ "$failed" = 0 ] || die mutation "a package is below ${min} % efficacy: strengthen its tests (docs/mutation.md)"
}

# summarise PKG JSON MIN SECONDS: one table row; returns 1 when efficacy < MIN.
summarise() {
  local pkg=$1 json=$2 min=$3 took=$4 k l t n e
  read -r k l t n < <(jq -r '[.files[].mutations[].status] as $s
    | [($s | map(select(. == "KILLED")) | length), ($s | map(select(. == "LIVED")) | length),
       ($s | map(select(. == "TIMED OUT")) | length), ($s | map(select(. == "NOT COVERED")) | length)]
    | @tsv' "$json")
  e=$(awk -v k="$k" -v l="$l" 'BEGIN { printf "%.2f", (k + l) == 0 ? 100 : k * 100 / (k + l) }')
  printf '%-18s %6s %% %7s %6s %9s %11s %5ss' "service/$pkg" "$e" "$k" "$l" "$t" "$n" "$took"
  if awk -v e="$e" -v m="$min" 'BEGIN { exit !(e < m) }'; then
    printf '  BELOW %s %%\n' "$min"
    return 1
  fi
  printf '\n'
}

# survivors PKG JSON: every LIVED mutant as file:line:column TYPE, then the source line.
survivors() {
  local pkg=$1 json=$2 file line col type
  jq -r '.files[] | .file_name as $f | .mutations[] | select(.status == "LIVED") | "\($f) \(.line) \(.column) \(.type)"' "$json" |
    while read -r file line col type; do
      printf '  LIVED service/%s/%s:%s:%s %s\n      %s\n' "$pkg" "$file" "$line" "$col" "$type" \
        "$(sed -n "${line}p" "service/$pkg/$file" | sed 's/^[[:space:]]*//')"
    done
}

main "$@"
