# Strain Seer container image. Design and commands: docs/docker.md.
#
#   docker build -t strain-seer .
#   docker run -d -p 8501:8501 -v strain-seer-data:/data --name strain-seer strain-seer

ARG RUST_VERSION=1.95

# --- chef: the Rust toolchain plus cargo-chef, which turns the manifests into a recipe --------
FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# --- planner: a recipe of the dependency graph only (changes when Cargo.toml/Cargo.lock do) ----
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- build: dependencies in their own cached layer, then the sources -------------------------
# `--features pdf`: the image makes PDF reports (typst, in-process; off in a plain cargo build).
FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --features pdf --recipe-path recipe.json --bin strain-seer
COPY . .
RUN cargo build --release --locked --features pdf --bin strain-seer \
    && mkdir -p /out/data /out/tmp/app \
    && cp target/release/strain-seer /out/strain-seer \
    && printf 'root:x:0:0:root:/root:/sbin/nologin\nappuser:x:1000:1000:Strain Seer:/data:/sbin/nologin\n' > /out/passwd \
    && printf 'root:x:0:\nappuser:x:1000:\n' > /out/group

# --- runtime: glibc + libgcc only (distroless cc), no shell, no package manager, no curl ------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Strain Seer" \
      org.opencontainers.image.description="Measure 2D strain from photos of a deforming specimen: fiducial markers, ruler scale, regression, plots." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/strain-seer/strain-seer" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build --chown=1000:1000 /out/data /data
COPY --from=build --chown=1000:1000 /out/tmp/app /tmp/app
COPY --from=build /out/strain-seer /usr/local/bin/strain-seer
ENV STRAIN_SEER_HOST=0.0.0.0 \
    STRAIN_SEER_PORT=8501 \
    STRAIN_SEER_DATA_DIR=/data \
    TMPDIR=/tmp/app
# appuser (uid 1000) is defined in the /etc/passwd copied above, so the name resolves inside the
# image; orchestrators that need a numeric uid for runAsNonRoot can set runAsUser: 1000.
# hadolint ignore=DL3066
USER appuser
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=30s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/strain-seer", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/strain-seer"]
CMD ["serve"]
