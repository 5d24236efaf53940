#!/usr/bin/env bash
# run.sh: the gateway with the defaults (real WhatsApp driver; durable store in DATA_DIR=data/ unless REDIS_URL is set).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_go
exec go run ./service/cmd/gateway "$@"
