# pact.sh: finds or installs libpact_ffi (FFI 0.4.28, the ABI pact-go v2.4.2 links against)
# and exports the cgo flags the `pact` tagged tests need. Source it, then call ensure_pact.

# FFI 0.5.x (pact-core >= 19) does not link with pact-go v2.4.2: keep this pin.
PACT_CORE_NPM=@pact-foundation/pact-core-linux-x64-glibc
PACT_CORE_VER=18.1.0
PACT_TGZ_SHA256=b7cd02d81749ab11a8d388410a2c99d822620f525de9fdeaa32830b8cfe82025
PACT_SO_SHA256=f2e805e6433afa2cabc3ad3c309786a975075319dcb370c737e0041b4bff9887

# ensure_pact: sets PACT_LIB_DIR to a directory holding libpact_ffi.so and exports
# CGO_ENABLED, CGO_LDFLAGS and PACT_DO_NOT_TRACK. Tried in order: PACT_LIB_DIR,
# /usr/local/lib, the .tools cache, the npm package, `pact-go install`.
ensure_pact() {
  ensure_cc
  local dir
  for dir in "${PACT_LIB_DIR:-}" /usr/local/lib "$TOOLS/pact"; do
    if [ -n "$dir" ] && [ -s "$dir/libpact_ffi.so" ]; then
      PACT_LIB_DIR=$dir
      log pact "using $dir/libpact_ffi.so"
      pact_env
      return 0
    fi
  done
  dir=$TOOLS/pact
  mkdir -p "$dir"
  pact_from_npm "$dir" || pact_go_install "$dir" ||
    die pact "could not get libpact_ffi.so (set PACT_LIB_DIR to a directory holding FFI 0.4.28)"
  PACT_LIB_DIR=$dir
  pact_env
}

pact_env() {
  export PACT_LIB_DIR
  export CGO_ENABLED=1
  export CGO_LDFLAGS="-L$PACT_LIB_DIR -Wl,-rpath,$PACT_LIB_DIR"
  export PACT_DO_NOT_TRACK=true
}

# pact_from_npm DIR: the npm package ships the same FFI 0.4.28 as pact-go's own installer.
pact_from_npm() {
  local dir=$1 tmp tgz
  have npm || apt_install npm
  have npm || return 1
  tmp=$(mktemp -d)
  log pact "npm pack $PACT_CORE_NPM@$PACT_CORE_VER"
  if ! (cd "$tmp" && npm pack --silent --cache "$TOOLS/npm-cache" "$PACT_CORE_NPM@$PACT_CORE_VER" >/dev/null 2>"$tmp/npm.log"); then
    tail -n 5 "$tmp/npm.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  tgz=$(ls "$tmp"/*.tgz)
  if ! echo "$PACT_TGZ_SHA256  $tgz" | sha256sum -c --quiet - >&2; then
    rm -rf "$tmp"
    die pact "checksum mismatch for $tgz"
  fi
  tar -xzf "$tgz" -C "$tmp" package/prebuilds/linux-x64/libpact_ffi.so
  if ! echo "$PACT_SO_SHA256  $tmp/package/prebuilds/linux-x64/libpact_ffi.so" | sha256sum -c --quiet - >&2; then
    rm -rf "$tmp"
    die pact "checksum mismatch for libpact_ffi.so"
  fi
  # rename into place last, so an interrupted run never leaves a partial library behind
  cp "$tmp/package/prebuilds/linux-x64/libpact_ffi.so" "$dir/libpact_ffi.so.tmp"
  mv "$dir/libpact_ffi.so.tmp" "$dir/libpact_ffi.so"
  rm -rf "$tmp"
  log pact "installed FFI 0.4.28 in $dir"
}

# pact_go_install DIR: pact-go's own installer (needs access to its release downloads).
pact_go_install() {
  local dir=$1
  log pact "trying pact-go install"
  (cd "$ROOT" && go run github.com/pact-foundation/pact-go/v2 install -d "$dir") >&2 || true
  [ -s "$dir/libpact_ffi.so" ] && return 0
  rm -f "$dir/libpact_ffi.so" # a failed download leaves an empty file that would shadow a retry
  return 1
}
