#!/usr/bin/env bash
# unit.sh: go vet + unit tests (real Redis through internal/redistest), then -race on ./service/...
# Then the Postgres store tests (-tags postgres) and every fuzz target briefly (FUZZTIME,
# 2000 inputs each; FUZZ=0 skips it; `make fuzz` runs them longer). A count, not a duration:
# we saw a 2 s run end with a spurious "context deadline exceeded" from go's fuzz coordinator.
# RACE=0 skips the race pass; UNIT_TIMEOUT (5m) bounds each test binary so a hang fails fast.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

main() {
  cd "$ROOT"
  ensure_go
  ensure_redis_server
  ensure_postgres_server
  log vet "go vet ./..."
  CGO_ENABLED=0 go vet ./...
  log unit "go test ./..."
  CGO_ENABLED=0 go test -count=1 -timeout "${UNIT_TIMEOUT:-5m}" ./...
  log postgres "go test -tags postgres ./service/whatsmeow/ ./internal/pgtest/"
  CGO_ENABLED=0 go test -tags postgres -count=1 -timeout "${UNIT_TIMEOUT:-5m}" ./service/whatsmeow/ ./internal/pgtest/
  if [ "${RACE:-1}" != 0 ]; then
    ensure_cc
    log race "go test -race ./service/..."
    CGO_ENABLED=1 go test -race -count=1 -timeout "${UNIT_TIMEOUT:-5m}" ./service/...
  fi
  if [ "${FUZZ:-1}" != 0 ]; then
    FUZZTIME=${FUZZTIME:-2000x} bash "$ROOT/scripts/fuzz.sh"
  fi
}

main "$@"
