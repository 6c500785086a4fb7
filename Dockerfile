# minato as a container: the agent, FROM scratch, from a static binary built
# on the host (no golang image is pulled; see docs/container.md):
#
#   CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o minato ./cmd/minato
#   cp /etc/ssl/certs/ca-certificates.crt .
#   docker build -t minato .
#
# The build context is the repository root; .dockerignore sends only the
# two files above.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY minato /minato
# XDG_STATE_HOME=/var/lib puts every default state file (jobs.db,
# inventory.db, baselines) under /var/lib/minato, the volume.
ENV MINATO_LISTEN=0.0.0.0:9464 \
    MINATO_STATE_DIR=/var/lib/minato \
    XDG_STATE_HOME=/var/lib \
    DOCKER_HOST=unix:///var/run/docker.sock
VOLUME /var/lib/minato
EXPOSE 9464
# Runs as root by default, as the socket needs. To run as another user, give
# the socket's group: docker run --user 65532:$(stat -c %g /var/run/docker.sock)
# (and a state volume that user can write; see docs/container.md).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 CMD ["/minato","healthcheck"]
ENTRYPOINT ["/minato","agent"]
