#!/usr/bin/env bash
# unit.sh: go vet + unit tests (real Redis through internal/redistest), then -race on ./service/...
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
  if [ "${RACE:-1}" != 0 ]; then
    ensure_cc
    log race "go test -race ./service/..."
    CGO_ENABLED=1 go test -race -count=1 -timeout "${UNIT_TIMEOUT:-5m}" ./service/...
  fi
}

main "$@"
