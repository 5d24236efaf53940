# docker.sh: makes a Docker engine answer and a Redis image available for the e2e tests.
# Source it, then call ensure_docker and ensure_redis_image.

LOCAL_REDIS_IMAGE=wagateway/redis:local

# ensure_docker: use the engine `docker info` answers; else install docker.io and start dockerd.
# dockerd stays up afterwards (docs/testing.md: "Which daemon stays up").
ensure_docker() {
  if have docker && docker info >/dev/null 2>&1; then
    log docker "engine answering ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    return 0
  fi
  [ -n "${DOCKER_HOST:-}" ] && die docker "DOCKER_HOST=$DOCKER_HOST does not answer"
  have dockerd || apt_install docker.io
  have docker || apt_install docker.io
  have pgrep || apt_install procps # ensure_dockerd inspects leftovers of a killed daemon
  ensure_dockerd || die docker "dockerd did not start"
  log docker "engine answering ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
}

# ensure_dockerd: make `docker info` answer, starting dockerd on its default paths if needed.
# Safe from fresh and after SIGKILL of dockerd/containerd/shims; safe for concurrent callers.
# (Adapted from the tested probe: a killed daemon leaves stale pidfiles and orphans that make
# a plain restart wait or die.)
ensure_dockerd() {
  local log=${DOCKERD_LOG:-/tmp/dockerd.log}
  docker info >/dev/null 2>&1 && return 0
  ( flock -w 120 9 || exit 1                 # one starter at a time (make -j, other checkouts)
    docker info >/dev/null 2>&1 && exit 0
    p=$(cat /var/run/docker.pid 2>/dev/null)
    # start only if no live (non-zombie) dockerd owns the default pidfile; else just wait
    if ! ps -o stat=,comm= -p "${p:-0}" 2>/dev/null | grep -qE '^[^Z]\S*\s+dockerd$'; then
      # orphans of a killed daemon: shims (+ container procs), containerd, docker-proxy
      for p in $(pgrep -f '[c]ontainerd-shim-runc-v2 -namespace moby -id [0-9a-f]+ -address /var/run/docker/containerd/containerd.sock') \
               $(pgrep -f '^[c]ontainerd --config /var/run/docker/containerd/containerd.toml') \
               $(pgrep -P 1 -x docker-proxy); do
        pkill -9 -P "$p"; kill -9 "$p"
      done 2>/dev/null
      # stale pidfiles may name zombie/reused PIDs -> dockerd refuses or waits 15 s and dies
      rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
      log docker "starting dockerd (log: $log)"
      setsid /usr/sbin/dockerd >>"$log" 2>&1 </dev/null 9>&- &
    fi
    for i in $(seq 120); do docker info >/dev/null 2>&1 && exit 0; sleep 0.5; done
    exit 1
  ) 9>/var/run/ensure_dockerd.lock && return 0
  echo "ensure_dockerd: dockerd not answering after 60 s; tail of $log:" >&2
  tail -n 20 "$log" >&2; return 1
}

# ensure_redis_image: exports REDIS_IMAGE naming an image present in the engine:
# REDIS_IMAGE (default redis:7-alpine) if present or pullable, else a local build.
ensure_redis_image() {
  local want=${REDIS_IMAGE:-redis:7-alpine}
  if docker image inspect "$want" >/dev/null 2>&1; then
    log image "using $want"
    export REDIS_IMAGE=$want
    return 0
  fi
  if [ "$want" != "$LOCAL_REDIS_IMAGE" ]; then
    log image "pulling $want"
    if timeout 120 docker pull -q "$want" >/dev/null 2>&1; then
      export REDIS_IMAGE=$want
      return 0
    fi
    log image "cannot pull $want: using $LOCAL_REDIS_IMAGE built from Debian's redis-server"
  fi
  if ! docker image inspect "$LOCAL_REDIS_IMAGE" >/dev/null 2>&1; then
    build_redis_image "$LOCAL_REDIS_IMAGE"
  fi
  export REDIS_IMAGE=$LOCAL_REDIS_IMAGE
}

# build_redis_image TAG: a FROM-scratch image holding the host's redis-server, its libs and
# a static busybox (testcontainers' port wait runs /bin/sh inside the container).
build_redis_image() {
  local tag=$1 ctx r lib a
  apt_install redis-server redis-tools busybox-static
  log image "building $tag"
  ctx=$(mktemp -d)
  r=$ctx/rootfs
  mkdir -p "$r/usr/local/bin" "$r/bin" "$r/data" "$r/tmp" "$r/etc"
  # /usr/bin/redis-server is a symlink to redis-check-rdb and argv[0] picks the mode:
  # copy the real file under a name containing "redis-server".
  cp -L /usr/bin/redis-server "$r/usr/local/bin/redis-server.real"
  cp -L /usr/bin/redis-cli "$r/usr/local/bin/redis-cli"
  for lib in $(ldd /usr/bin/redis-server /usr/bin/redis-cli | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | grep '^/' | sort -u); do
    cp -L --parents "$lib" "$r/"
  done
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/data:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\nredis:x:999:\n' >"$r/etc/group"
  printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
  chmod 1777 "$r/tmp"
  # Debian's binary has protected mode on, which rejects clients coming through a published
  # port; the official image compiles it off.
  printf '#!/bin/sh\nexec /usr/local/bin/redis-server.real "$@" --protected-mode no\n' >"$r/usr/local/bin/redis-server"
  chmod +x "$r/usr/local/bin/redis-server"
  cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]
DF
  mkdir -p "$TOOLS"
  docker build -q -t "$tag" "$ctx" >/dev/null 2>"$TOOLS/docker-build.log" ||
    { tail -n 20 "$TOOLS/docker-build.log" >&2; rm -rf "$ctx"; die image "docker build $tag failed"; }
  rm -rf "$ctx"
  log image "built $tag"
}

# testcontainers_env: settings testcontainers-go needs on machines like ours.
testcontainers_env() {
  # Ryuk's image may not be pullable; every test terminates its containers through t.Cleanup.
  export TESTCONTAINERS_RYUK_DISABLED=${TESTCONTAINERS_RYUK_DISABLED:-true}
  # Inside a VM or container with /.dockerenv, testcontainers guesses the bridge gateway as the
  # host and every port wait times out; published ports are on localhost for a local engine.
  if [ -f /.dockerenv ] && [[ "${DOCKER_HOST:-unix://}" == unix://* ]]; then
    export TESTCONTAINERS_HOST_OVERRIDE=${TESTCONTAINERS_HOST_OVERRIDE:-localhost}
  fi
}
