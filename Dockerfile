# wagateway container images, FROM scratch: no base image is pulled.
#
# The binaries are static Go builds (CGO_ENABLED=0) made on the host: build
# with `make image` (scripts/image.sh), which stages them with the host's CA
# certificates and a passwd file in .tools/image/ and runs
#   docker build --target gateway     -t wagateway:local .
#   docker build --target mocklaravel -t wagateway-mocklaravel:local .
# (.dockerignore sends only .tools/image/ to the engine.)

# --- the gateway (default target) ----------------------------------------
FROM scratch AS gateway
# HTTPS to Laravel and rediss:// need the CA bundle; passwd names the
# non-root user (uid 65532) so the process never runs as root.
COPY .tools/image/rootfs/ /
# WA_STORE's default file:data/whatsmeow.db resolves to /data, owned by the
# user; mount a volume there to keep paired devices across restarts.
COPY --chown=65532:65532 .tools/image/data/ /data/
COPY .tools/image/bin/gateway /usr/local/bin/gateway
WORKDIR /
VOLUME ["/data"]
USER 65532:65532
ENV GATEWAY_ADDR=:4000
EXPOSE 4000
ENTRYPOINT ["/usr/local/bin/gateway"]

# --- the mock Laravel (demo, e2e, load tests) -----------------------------
FROM scratch AS mocklaravel
COPY .tools/image/rootfs/ /
COPY --chown=65532:65532 .tools/image/data/ /data/
COPY .tools/image/bin/mocklaravel /usr/local/bin/mocklaravel
WORKDIR /data
USER 65532:65532
ENV MOCK_ADDR=:8000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/mocklaravel"]

# Last, so a plain `docker build .` makes the gateway.
FROM gateway
