#!/usr/bin/env bash
# contracts.sh: pact consumer tests (rewrite contracts/pacts/*.json) then provider verification
# against mocklaravel. Installs the Pact FFI when missing (see pact.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pact.sh"

main() {
  cd "$ROOT"
  ensure_go
  ensure_pact
  # consumer tests delete and rewrite contracts/pacts/ themselves (the FFI merges into old files);
  # source order runs them before the provider verification in the same package.
  log contracts "go test -tags pact ./contracts/... (FFI in $PACT_LIB_DIR)"
  go test -tags pact -count=1 -timeout 10m "$@" ./contracts/...
}

main "$@"
