#!/usr/bin/env bash
# alerts.sh: the ops/ files stay true. promtool checks and unit-tests the alert rules
# (ops/prometheus/alerts_test.yml: every alert fires on one series and holds on another),
# then TestOpsMetricsExist runs a gateway (sim phones, real Redis, mock Laravel), makes
# traffic and fails on any metric the rules or the Grafana dashboard name that /metrics lacks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

main() {
  cd "$ROOT"
  ensure_go
  ensure_redis_server
  have promtool || apt_install prometheus # ships promtool; policy-rc.d keeps the daemon off
  have promtool || die alerts "promtool still not on PATH after installing prometheus"
  log alerts "promtool check rules ops/prometheus/alerts.yml"
  promtool check rules ops/prometheus/alerts.yml
  log alerts "promtool test rules ops/prometheus/alerts_test.yml"
  promtool test rules ops/prometheus/alerts_test.yml
  log alerts "go test -run TestOpsMetricsExist ./service/cmd/gateway/"
  CGO_ENABLED=0 go test -count=1 -timeout 2m -run '^TestOpsMetricsExist$' -v ./service/cmd/gateway/ | grep -E '^(---|ok|FAIL|\s+opsmetrics)' || exit 1
  log alerts "rules, rule tests and metric names: all passed"
}

main "$@"
