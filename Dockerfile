# syntax=docker/dockerfile:1
# entra-authmethods-exporter container image.
#   docker build --build-arg REVISION="$(git rev-parse --short=12 HEAD)" -t entra-authmethods-exporter .
# The runtime image has no shell and no package manager: just the binary, glibc, CA certificates and
# a non-root user. The health check runs the binary itself (`healthcheck` subcommand).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
# Recorded in entra_authmethods_build_info{revision}; .git is not in the build context.
ARG REVISION=unknown
ENV ENTRA_AUTHMETHODS_REVISION=${REVISION}
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
# The Graph simulator, a workspace member: the image keeps the default build, so `--demo` works in it
# (docker run IMAGE --demo is the quickest look at the dashboards); it adds no runtime dependency.
COPY crates ./crates
# BuildKit cache mounts keep the registry and target directory between builds; the binary is copied
# out of the cached target directory, which does not persist into the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin entra-authmethods-exporter \
    && install -D -m 0755 target/release/entra-authmethods-exporter /out/entra-authmethods-exporter

# glibc build, so the "cc" variant (libc, libgcc, CA certificates); :nonroot runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="entra-authmethods-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Microsoft Entra ID authentication-methods reports (MFA, SSPR and passwordless registration)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/entra-authmethods-exporter /usr/local/bin/entra-authmethods-exporter
# Numeric, so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 10027
# GETs http://127.0.0.1:10027/healthz; with another --web.listen-address, override the health check
# with "entra-authmethods-exporter --web.listen-address ADDR healthcheck".
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/entra-authmethods-exporter", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/entra-authmethods-exporter"]
CMD ["--config=/etc/entra-authmethods-exporter/config.toml"]
