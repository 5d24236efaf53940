#!/usr/bin/env bash
# image.sh: builds the container images wagateway:local (the gateway) and
# wagateway-mocklaravel:local from static binaries built here (no image is
# pulled: both are FROM scratch). IMAGE_TAG overrides "local".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"

UID_GID=65532

main() {
  cd "$ROOT"
  ensure_go
  ensure_docker
  local tag=${IMAGE_TAG:-local} stage=$ROOT/.tools/image ca=/etc/ssl/certs/ca-certificates.crt
  # One build at a time: the Dockerfile reads the one staging directory
  # (make image and make e2e may run together).
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/image.lock"
  flock -w 600 9 || die image "another image build holds $TOOLS/image.lock"
  [ -s "$ca" ] || apt_install ca-certificates
  rm -rf "$stage"
  mkdir -p "$stage/bin" "$stage/rootfs/etc/ssl/certs" "$stage/rootfs/tmp" "$stage/data"

  log image "go build (static, CGO_ENABLED=0) gateway and mocklaravel"
  local ldflags="-s -w -buildid=" trim=-trimpath
  # -trimpath gives every package a new cache key: a full recompile (~3 min cold on 2 cores).
  # The e2e image reuses the unit tests' build cache instead (IMAGE_TRIMPATH=0).
  [ "${IMAGE_TRIMPATH:-1}" = 0 ] && trim=
  CGO_ENABLED=0 GOOS=linux go build $trim -ldflags "$ldflags" -o "$stage/bin/gateway" ./service/cmd/gateway
  CGO_ENABLED=0 GOOS=linux go build $trim -ldflags "$ldflags" -o "$stage/bin/mocklaravel" ./mocklaravel/cmd/mocklaravel

  cp "$ca" "$stage/rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/data:/sbin/nologin\n' $UID_GID $UID_GID >"$stage/rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' $UID_GID >"$stage/rootfs/etc/group"
  # Go's resolver reads nsswitch.conf for the order of /etc/hosts and DNS.
  printf 'hosts: files dns\n' >"$stage/rootfs/etc/nsswitch.conf"
  # COPY keeps the mode (the classic builder has no --chmod): a sticky,
  # world-writable /tmp for SQLite's temporary files.
  chmod 1777 "$stage/rootfs/tmp"
  chmod 0750 "$stage/data"

  mkdir -p "$TOOLS"
  local target name
  for target in gateway mocklaravel; do
    name=wagateway:$tag
    [ "$target" = mocklaravel ] && name=wagateway-mocklaravel:$tag
    log image "docker build --target $target -t $name"
    docker build -q --target "$target" -t "$name" -f Dockerfile . >/dev/null 2>"$TOOLS/docker-build-$target.log" ||
      { tail -n 20 "$TOOLS/docker-build-$target.log" >&2; die image "docker build $name failed"; }
  done
  docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}  {{.ID}}' | grep -E "^wagateway(-mocklaravel)?:$tag " >&2
  [ "${IMAGE_SMOKE:-1}" = 0 ] || { have curl || apt_install curl; smoke "wagateway:$tag"; }
}

# smoke IMAGE: the image starts as its non-root user, read-only, and answers
# GET /ready (simulated phones, in-memory stores). IMAGE_SMOKE=0 skips it.
smoke() {
  local image=$1 id port i code=000
  id=$(docker run -d --read-only --tmpfs /tmp --cap-drop ALL -p 127.0.0.1::4000 -e WA_DRIVER=sim "$image")
  port=$(docker port "$id" 4000/tcp | head -n1 | sed 's/.*://')
  for i in $(seq 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  local user
  user=$(docker inspect -f '{{.Config.User}}' "$id")
  [ "$code" = 200 ] || docker logs "$id" 2>&1 | tail -n 20 >&2
  docker rm -f "$id" >/dev/null
  [ "$code" = 200 ] || die image "$image did not answer GET /ready (last status $code)"
  log image "smoke test: $image runs as $user, read-only, GET /ready 200"
}

main "$@"
