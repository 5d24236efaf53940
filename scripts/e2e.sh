#!/usr/bin/env bash
# e2e.sh: black-box tests of the gateway binary against Redis in containers (testcontainers-go).
# Starts a Docker engine if none answers (it stays up) and provides the Redis image.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"

main() {
  cd "$ROOT"
  ensure_go
  ensure_docker
  ensure_redis_image
  testcontainers_env
  log e2e "go test -tags e2e ./e2e/... (REDIS_IMAGE=$REDIS_IMAGE)"
  CGO_ENABLED=0 go test -tags e2e -count=1 -timeout "${E2E_TIMEOUT:-15m}" -v "$@" ./e2e/... 2>&1 |
    grep --line-buffered -vE '^=== (RUN|PAUSE|CONT)'
}

main "$@"
