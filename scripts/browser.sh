#!/usr/bin/env bash
# browser.sh: the dashboard's browser tests (build tag browser) in headless Chromium, against
# the gateway binary with simulated phones and the mock Laravel. Installs Debian's chromium,
# fetches axe-core with npm pack (cached in .tools/), and writes screenshots and axe-core
# reports to ARTIFACTS_DIR (default e2e/artifacts/, gitignored).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

AXE_VERSION=4.14.1
AXE_TGZ_SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE_JS_SHA256=29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c

# ensure_chromium: Debian's chromium (headless needs no display) and a font to render text.
ensure_chromium() {
  if [ -n "${CHROMIUM_BIN:-}" ]; then
    [ -x "$CHROMIUM_BIN" ] || die browser "CHROMIUM_BIN=$CHROMIUM_BIN is not executable"
    return 0
  fi
  apt_install chromium fonts-dejavu-core
  export CHROMIUM_BIN=/usr/bin/chromium
}

# ensure_axe: exports AXE_JS, axe-core's axe.min.js, checked against its pinned sha256.
ensure_axe() {
  local dir=$TOOLS/axe-core-$AXE_VERSION tmp tgz
  AXE_JS=$dir/axe.min.js
  if [ ! -s "$AXE_JS" ]; then
    have npm || apt_install npm
    tmp=$(mktemp -d)
    log browser "npm pack axe-core@$AXE_VERSION"
    (cd "$tmp" && npm pack --silent --cache "$TOOLS/npm-cache" "axe-core@$AXE_VERSION" >/dev/null 2>"$tmp/npm.log") ||
      { tail -n 5 "$tmp/npm.log" >&2; rm -rf "$tmp"; die browser "npm pack axe-core@$AXE_VERSION failed"; }
    tgz=$(ls "$tmp"/*.tgz)
    echo "$AXE_TGZ_SHA256  $tgz" | sha256sum -c --quiet - >&2 || { rm -rf "$tmp"; die browser "checksum mismatch for $tgz"; }
    tar -xzf "$tgz" -C "$tmp" package/axe.min.js
    mkdir -p "$dir"
    mv "$tmp/package/axe.min.js" "$AXE_JS"
    rm -rf "$tmp"
  fi
  echo "$AXE_JS_SHA256  $AXE_JS" | sha256sum -c --quiet - >&2 || die browser "checksum mismatch for $AXE_JS (delete it to fetch again)"
  export AXE_JS
}

main() {
  cd "$ROOT"
  ensure_go
  ensure_chromium
  ensure_axe
  export ARTIFACTS_DIR=${ARTIFACTS_DIR:-$ROOT/e2e/artifacts}
  mkdir -p "$ARTIFACTS_DIR"
  log browser "go test -tags browser ./e2e/browser/ (chromium $("$CHROMIUM_BIN" --version 2>/dev/null | awk '{print $2}'), axe-core $AXE_VERSION, artifacts in $ARTIFACTS_DIR)"
  CGO_ENABLED=0 go test -tags browser -count=1 -timeout "${BROWSER_TIMEOUT:-8m}" -v "$@" ./e2e/browser/ 2>&1 |
    grep --line-buffered -vE '^=== (RUN|PAUSE|CONT)'
}

main "$@"
