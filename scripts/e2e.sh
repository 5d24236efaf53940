#!/usr/bin/env bash
# e2e.sh: black-box tests of the gateway binary against Redis in containers (testcontainers-go).
# Starts a Docker engine if none answers (it stays up), provides the Redis image and builds the
# gateway image (scripts/image.sh, tag wagateway:e2e; E2E_IMAGE=0 skips it and its scenario).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"

# ensure_gateway_image: builds the gateway image as `make image` does (tag e2e, no smoke
# test) and exports GATEWAY_IMAGE for the scenario that runs it. E2E_IMAGE=0 skips it.
ensure_gateway_image() {
  if [ "${E2E_IMAGE:-1}" = 0 ]; then
    log e2e "E2E_IMAGE=0: the container image scenario is skipped"
    return 0
  fi
  [ -f Dockerfile ] && [ -f scripts/image.sh ] || return 0
  IMAGE_TAG=e2e IMAGE_SMOKE=0 IMAGE_TRIMPATH=0 bash scripts/image.sh || die e2e "building the gateway image failed (E2E_IMAGE=0 skips it)"
  export GATEWAY_IMAGE=wagateway:e2e
}

main() {
  cd "$ROOT"
  ensure_go
  ensure_docker
  ensure_redis_image
  ensure_redis_server # the Cluster and Sentinel scale scenarios run redis-server (and redis-cli) on the host
  testcontainers_env
  ensure_gateway_image
  log e2e "go test -tags e2e ./e2e/... (REDIS_IMAGE=$REDIS_IMAGE)"
  CGO_ENABLED=0 go test -tags e2e -count=1 -timeout "${E2E_TIMEOUT:-15m}" -v "$@" ./e2e/... 2>&1 |
    grep --line-buffered -vE '^=== (RUN|PAUSE|CONT)'
}

main "$@"
