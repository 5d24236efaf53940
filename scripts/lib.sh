# lib.sh: helpers shared by the make targets' scripts. Source it; it runs nothing.
# Every set-up step is idempotent: it checks first and installs or starts only what is missing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${TOOLS_DIR:-$ROOT/.tools} # project-local cache (gitignored)
export PATH=/usr/local/go/bin:$PATH

# log STEP MESSAGE…: short progress lines, prefixed with the step, on stderr.
log() {
  local step=$1
  shift
  printf '[%s %s] %s\n' "$(date -u +%H:%M:%S)" "$step" "$*" >&2
}

die() {
  log "$1" "ERROR: ${*:2}"
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# apt_install PKG…: installs the Debian packages not yet installed (root only).
# apt-get update runs at most once per make run.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! have apt-get; then
    die apt "need packages ${missing[*]}: install them (as root: apt-get install ${missing[*]})"
  fi
  local stamp=$TOOLS/apt-updated
  mkdir -p "$TOOLS"
  if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +60 2>/dev/null)" ]; then
    log apt "apt-get update"
    apt-get update -qq >&2 && touch "$stamp"
  fi
  log apt "installing ${missing[*]}"
  # Packages like redis-server and postgresql start a system daemon on install where they can;
  # tests start their own servers, so forbid that (Debian's policy-rc.d convention) while we install.
  local policy=/usr/sbin/policy-rc.d ours=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$TOOLS/apt.log" 2>&1 || rc=$?
  [ "$ours" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || { tail -n 20 "$TOOLS/apt.log" >&2; die apt "apt-get install ${missing[*]} failed"; }
}

# ensure_go: Go is the one prerequisite we do not install.
ensure_go() {
  have go || die go "Go not found (expected at /usr/local/go/bin or on PATH; see README prerequisites)"
  # module downloads need the system's CA roots, absent from minimal images
  [ -s /etc/ssl/certs/ca-certificates.crt ] || apt_install ca-certificates
}

# ensure_cc: cgo (pact, -race) needs a C compiler.
ensure_cc() {
  have gcc || apt_install gcc libc6-dev
}

# ensure_php: PHP 8.2, Laravel 8.83 and PHPUnit 9 from Debian (about 30 s, 130 packages), for
# the real Laravel app (contracts/laravel; scripts/laravel.sh, breakit patches tagged laravel).
ensure_php() {
  apt_install php-cli php-laravel-framework php-sqlite3 php-mbstring php-xml php-curl phpunit php-mockery
  have php || die laravel "php still not on PATH after install"
}

# ensure_redis_server: a redis-server binary for internal/redistest (unless REDIS_URL is set).
ensure_redis_server() {
  [ -n "${REDIS_URL:-}" ] && return 0
  have redis-server || apt_install redis-server
  have redis-server || die redis "redis-server still not on PATH after install"
}

# ensure_postgres_server: Postgres server binaries for internal/pgtest (unless PG_URL is set).
ensure_postgres_server() {
  [ -n "${PG_URL:-}" ] && return 0
  have initdb && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0
  apt_install postgresql
}
