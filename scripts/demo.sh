#!/usr/bin/env bash
# demo.sh (make demo): the mock Laravel and the gateway with simulated phones;
# a few hundred sessions start through POST /start and a line per flush shows
# how many requests reached Laravel against one request per event.
#
#   bash scripts/demo.sh [--duration SECONDS] [--sessions N]
#
# Env: DEMO_SECONDS (0 = until Ctrl-C), DEMO_SESSIONS (300), DEMO_CHURN
# (sessions closed and restarted every 5 s, 10), SIM_TIME_SCALE (10),
# SIM_SCAN_PROBABILITY (0.7), SIM_SCAN_DELAY (60s), BATCH_SIZE,
# BATCH_INTERVAL, PRIORITY_INTERVAL, DELIVERY_MODE (batch; direct to compare).
# Ctrl-C stops everything cleanly; logs stay in the directory printed at the end.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds=${DEMO_SECONDS:-0}
sessions=${DEMO_SESSIONS:-300}
churn=${DEMO_CHURN:-10}
while [ $# -gt 0 ]; do
  case $1 in
  --duration) seconds=${2:?--duration needs seconds}; shift 2 ;;
  --duration=*) seconds=${1#*=}; shift ;;
  --sessions) sessions=${2:?--sessions needs a number}; shift 2 ;;
  --sessions=*) sessions=${1#*=}; shift ;;
  -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die demo "unknown argument $1 (try --help)" ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] || die demo "--duration/DEMO_SECONDS must be whole seconds, got $seconds"
[[ $sessions =~ ^[0-9]+$ ]] && [ "$sessions" -ge 1 ] || die demo "--sessions/DEMO_SESSIONS must be a positive number, got $sessions"

ensure_go
have curl || apt_install curl
have jq || apt_install jq

work=$(mktemp -d "${TMPDIR:-/tmp}/wagateway-demo.XXXXXX")
log demo "building gateway and mock Laravel into $work"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$work/gateway" ./service/cmd/gateway &&
  CGO_ENABLED=0 go build -o "$work/mocklaravel" ./mocklaravel/cmd/mocklaravel) || die demo "build failed"

# free_port prints a TCP port nobody listens on.
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 100); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die demo "no free port found"
}

# wait_up URL PID NAME: waits until URL answers, or the process died.
wait_up() {
  local i
  for i in $(seq 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || die demo "$3 exited during start-up (see $work/$3.log)"
    sleep 0.1
  done
  die demo "$3 did not answer at $1 (see $work/$3.log)"
}

mock_pid= gw_pid= starter_pid= mock= gw=
ev=0 lreq=0 litems=0 # last totals seen, for the summary
stop_all() {
  trap - EXIT INT TERM
  [ -n "$gw" ] || { log demo "stopped before the gateway started"; [ -n "$mock_pid" ] && kill -TERM "$mock_pid" 2>/dev/null; return 0; }
  [ -n "$starter_pid" ] && kill "$starter_pid" 2>/dev/null && wait "$starter_pid" 2>/dev/null
  summary
  if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
    local before after
    before=$(curl -fs "$mock/__mock/stats" | jq -r '"\(.requests) \(.items)"') || before=""
    log demo "stopping the gateway (SIGTERM: sessions stopped, their statuses flushed)"
    kill -TERM "$gw_pid" && wait "$gw_pid" 2>/dev/null || true
    if [ -n "$before" ] && after=$(curl -fs "$mock/__mock/stats" | jq -r '"\(.requests) \(.items)"'); then
      read -r b_req b_items <<<"$before"
      read -r a_req a_items <<<"$after"
      log demo "shutdown flush: $((a_req - b_req)) more requests carrying $((a_items - b_items)) items"
    fi
  elif [ -n "$gw_pid" ]; then
    wait "$gw_pid" 2>/dev/null || true
  fi
  if [ -n "$mock_pid" ] && kill -0 "$mock_pid" 2>/dev/null; then
    kill -TERM "$mock_pid" && wait "$mock_pid" 2>/dev/null || true
  fi
  log demo "logs: $work/gateway.log $work/mocklaravel.log"
}
trap stop_all EXIT
trap 'echo; exit 130' INT TERM

mock_port=$(free_port)
mock=http://127.0.0.1:$mock_port
# setsid: Ctrl-C reaches only this script, which stops the two in order.
MOCK_ADDR=127.0.0.1:$mock_port MOCK_LOG_LEVEL=warn setsid "$work/mocklaravel" >"$work/mocklaravel.log" 2>&1 &
mock_pid=$!
wait_up "$mock/__mock/stats" "$mock_pid" mocklaravel

gw_port=$(free_port)
gw=http://127.0.0.1:$gw_port
GATEWAY_ADDR=127.0.0.1:$gw_port LARAVEL_URL=$mock WA_DRIVER=sim REDIS_URL= DATA_DIR="$work/data" API_KEY= \
  SIM_TIME_SCALE=${SIM_TIME_SCALE:-10} SIM_SCAN_PROBABILITY=${SIM_SCAN_PROBABILITY:-0.7} \
  SIM_SCAN_DELAY=${SIM_SCAN_DELAY:-60s} LOG_LEVEL=${LOG_LEVEL:-info} \
  setsid "$work/gateway" >"$work/gateway.log" 2>&1 &
gw_pid=$!
wait_up "$gw/health" "$gw_pid" gateway
log demo "mock Laravel $mock, gateway $gw (WA_DRIVER=sim, SIM_TIME_SCALE=${SIM_TIME_SCALE:-10})"
log demo "dashboard: open $gw/ui in a browser (no API_KEY in the demo: no sign-in)"

# Start the sessions in the background, 16 at a time, so the flushes show up at once.
log demo "starting $sessions sessions through POST /start"
seq 1 "$sessions" | xargs -P 16 -I{} curl -s -o /dev/null -X POST -d '{"user_id":{}}' "$gw/start" &
starter_pid=$!

# counters prints: events requests sent high_requests normal_requests laravel_requests laravel_items
counters() {
  local b m
  b=$(curl -fs "$gw/metrics/batch") || return 1
  m=$(curl -fs "$mock/__mock/stats") || return 1
  printf '%s %s\n' \
    "$(jq -r '[.accepted, .requests, .sent, (.lanes.high.requests // 0), (.lanes.normal.requests // 0)] | @tsv' <<<"$b")" \
    "$(jq -r '[.requests, .items] | @tsv' <<<"$m")"
}

# summary prints the totals: live when the gateway still answers, else the
# last values the loop saw (Ctrl-C also reaches the gateway, which then
# stops by itself).
summary() {
  local c
  if c=$(counters 2>/dev/null); then
    read -r ev _ _ _ _ lreq litems <<<"$c"
  fi
  echo
  echo "=== demo summary: $ev events (QR codes and status changes) -> $lreq requests to Laravel carrying $litems items"
  if [ "$ev" -gt 0 ]; then
    echo "=== one request per event would have been $ev requests: $(((ev - lreq) * 100 / ev))% fewer requests with batching"
  fi
  curl -fs "$mock/__mock/stats" 2>/dev/null |
    jq -r '.endpoints | to_entries[] | "    \(.key): \(.value.requests) requests, \(.value.items) items, p95 \(.value.latency_ms.p95) ms"' || true
}

log demo "one line per flush; Ctrl-C to stop${seconds:+ (or after $seconds s)}"
printf '%-7s %-28s %s\n' time "flush (requests, items)" "Laravel requests so far vs one per event"
start=$SECONDS
prev_high=0 prev_normal=0 prev_items=0 tick=0
while [ "$seconds" -eq 0 ] || [ $((SECONDS - start)) -lt "$seconds" ]; do
  sleep 1
  tick=$((tick + 1))
  kill -0 "$gw_pid" 2>/dev/null || die demo "the gateway died (see $work/gateway.log)"
  c=$(counters) || continue
  read -r ev req sent high normal lreq litems <<<"$c"
  if [ "$high" -ne "$prev_high" ] || [ "$normal" -ne "$prev_normal" ]; then
    lanes=""
    [ "$high" -ne "$prev_high" ] && lanes+="high +$((high - prev_high)) "
    [ "$normal" -ne "$prev_normal" ] && lanes+="normal +$((normal - prev_normal)) "
    lanes+="($((litems - prev_items)) items)"
    saved=0
    [ "$ev" -gt 0 ] && saved=$(((ev - lreq) * 100 / ev))
    printf '%5ss  %-28s %d requests for %d events (%d%% fewer)\n' $((SECONDS - start)) "$lanes" "$lreq" "$ev" "$saved"
    prev_high=$high prev_normal=$normal prev_items=$litems
  fi
  # Churn: every 5 s some phones log out and their users start again,
  # so QR codes and statuses keep flowing.
  if [ "$churn" -gt 0 ] && [ $((tick % 5)) -eq 0 ]; then
    for i in $(shuf -i 1-"$sessions" -n "$((churn < sessions ? churn : sessions))"); do
      curl -s -o /dev/null -X POST "$gw/sim/sessions/user_$i/close" || true
      curl -s -o /dev/null -X POST -d "{\"user_id\":$i}" "$gw/start" || true
    done
  fi
done
