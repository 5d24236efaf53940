#!/usr/bin/env bash
# laravel.sh: the real Laravel app (contracts/laravel: the wagateway/laravel package in host/).
#
#   laravel.sh serve   make laravel: serve host/ in the foreground on LARAVEL_APP_ADDR
#                      (default 127.0.0.1:8000) over a fresh, migrated SQLite file; the app's
#                      WAGATEWAY_* and PROVIDER_STATES variables pass through (no token: none asked)
#   laravel.sh loadtest  make loadtest-laravel: the load generator's direct and batch modes against
#                      the PHP app (one php -S, fresh per mode): PHP CPU seconds and handling p50/p99,
#                      table in loadtest/results/laravel.md (ARGS adds or overrides flags)
#   laravel.sh test    make laravel-test: PHPUnit, then the committed pact verified against the app
#                      (the same verification as mocklaravel's), the mock-fidelity test and the
#                      e2e scenario of the gateway binary against the PHP app
#
# Installs PHP and Debian's Laravel 8 when missing (no Composer needed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HOST=$ROOT/contracts/laravel/host
PHP_PID=

# free_addr: a free loopback host:port.
free_addr() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); echo stream_socket_get_name($s, false);'
}

# start_app ADDR DB: migrates a fresh SQLite file DB and starts php -S on ADDR in the
# background (PHP_PID); it is stopped on exit. The caller's environment configures the app.
start_app() {
  local addr=$1 db=$2
  mkdir -p "$(dirname "$db")"
  rm -f "$db" "$db-wal" "$db-shm"
  : >"$db"
  export APP_ENV=${APP_ENV:-local} CACHE_DRIVER=array LOG_CHANNEL=${LOG_CHANNEL:-stderr} \
    DB_CONNECTION=sqlite DB_DATABASE=$db
  (cd "$HOST" && php artisan migrate --force --no-interaction >&2)
  # WAL: readers (sqlite3, tests) and PHP workers share the file without blocking each other.
  php -r '(new PDO("sqlite:".$argv[1]))->exec("PRAGMA journal_mode=WAL");' "$db" >/dev/null
  # php -S directly, not artisan serve: killing artisan serve leaves its php -S child running.
  # Its per-connection "Accepted"/"Closing" lines are dropped; requests and errors stay.
  (cd "$HOST" && exec php -S "$addr" -t public server.php 2> >(grep --line-buffered -vE ' (Accepted|Closing)$|Closed without sending a request' >&2)) &
  PHP_PID=$!
  trap stop_app EXIT
  trap 'exit 130' INT TERM
  local i
  for i in $(seq 1 100); do
    if php -r '$c = @fsockopen($argv[1], (int) $argv[2], $e, $s, 0.2); exit($c ? 0 : 1);' "${addr%:*}" "${addr##*:}"; then
      return 0
    fi
    kill -0 "$PHP_PID" 2>/dev/null || die laravel "php -S on $addr exited (port in use?)"
    sleep 0.1
  done
  die laravel "php -S on $addr does not answer"
}

stop_app() {
  if [ -n "$PHP_PID" ] && kill -0 "$PHP_PID" 2>/dev/null; then
    kill "$PHP_PID" 2>/dev/null || true
    wait "$PHP_PID" 2>/dev/null || true
  fi
  PHP_PID=
}

serve() {
  local addr=${LARAVEL_APP_ADDR:-127.0.0.1:8000} db=${LARAVEL_DB:-$TOOLS/laravel/app.sqlite}
  start_app "$addr" "$db"
  log laravel "serving contracts/laravel/host on http://$addr (database $db; token: ${WAGATEWAY_TOKEN:-none asked})"
  log laravel "e.g. curl -X POST http://$addr/api/qr/batch -H 'Content-Type: application/json' -d '{\"qrs\":[{\"session_id\":\"test\",\"qr\":\"data:image/png...\"}]}'"
  wait "$PHP_PID"
}

test_all() {
  ensure_go
  local t0=$SECONDS
  log laravel "PHPUnit (contracts/laravel/tests, in host/)"
  (cd "$HOST" && phpunit --do-not-cache-result)

  log laravel "provider verification: the committed pact against the PHP app"
  local work addr token=laravel-test-token
  work=$(mktemp -d)
  addr=$(free_addr)
  (
    export PROVIDER_STATES=1 WAGATEWAY_TOKEN=$token WAGATEWAY_SIGNING_SECRET= WAGATEWAY_AUTOCREATE=true LOG_CHANNEL=null
    start_app "$addr" "$work/verify.sqlite"
    LARAVEL_URL=http://$addr PROVIDER_STATES_URL=http://$addr/_pact/provider-states LARAVEL_TOKEN=$token \
      bash "$ROOT/scripts/contracts.sh" verify-laravel
  )
  rm -rf "$work"

  log laravel "mock fidelity: one corpus against mocklaravel and the PHP app"
  CGO_ENABLED=0 go test -tags laravel -count=1 -timeout 5m ./internal/laraveltest/ ./mocklaravel/

  log laravel "e2e: the gateway binary against the PHP app"
  laravel_e2e
  log laravel "ok: PHPUnit, pact verification, fidelity and e2e against the real Laravel ($((SECONDS - t0)) s)"
}

# laravel_e2e: the e2e scenario against the PHP app (e2e/real_laravel_test.go); Redis runs in a
# container as in make e2e.
laravel_e2e() {
  . "$ROOT/scripts/docker.sh"
  ensure_docker
  ensure_redis_image
  testcontainers_env
  CGO_ENABLED=0 go test -tags 'e2e laravel' -count=1 -timeout 10m -run '^TestRealLaravel' -v ./e2e/ 2>&1 |
    grep --line-buffered -vE '^=== (RUN|PAUSE|CONT)'
}

# loadtest: a workload a single php -S can still drain in direct mode (so both modes deliver
# everything and their CPU seconds compare the same work). The delivery-latency thresholds are
# the mock's (a Go server); against one PHP process only the seed's handling target is kept.
loadtest() {
  ensure_go
  ensure_redis_server
  mkdir -p loadtest/results
  # shellcheck disable=SC2086 # ARGS is a list of flags
  go run ./loadtest/cmd/loadtest -laravel-app -sessions 400 -time-scale 4 -drain 180s \
    -min-reduction 50 -max-high-p99 60s -max-normal-p99 60s \
    -md loadtest/results/laravel.md -out loadtest/results/laravel.json ${ARGS:-}
  log laravel "table in loadtest/results/laravel.md"
}

main() {
  cd "$ROOT"
  ensure_php
  case "${1:-serve}" in
  serve) serve ;;
  test) test_all ;;
  loadtest) loadtest ;;
  *) die laravel "unknown mode $1 (serve, test, loadtest)" ;;
  esac
}

main "$@"
