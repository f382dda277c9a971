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
# `--features pdf,video`: the image makes PDF reports (typst, in-process) and reads films (Debian's
# FFmpeg 5.1 libraries through ffmpeg-next; off in a plain cargo build). The video feature needs
# FFmpeg's headers, pkg-config and libclang (bindgen) to build.
FROM chef AS build
# Not pinned (DL3008): bookworm itself fixes FFmpeg at 5.1 (the ABI the bindings are built for),
# and Debian's security updates replace the exact versions, so a pin would break the build the
# day the mirror drops the old one.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libclang-dev \
       libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
    && rm -rf /var/lib/apt/lists/*
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --features pdf,video --recipe-path recipe.json --bin strain-seer
COPY . .
RUN cargo build --release --locked --features pdf,video --bin strain-seer \
    && mkdir -p /out/data /out/tmp/app /out/lib \
    && cp target/release/strain-seer /out/strain-seer \
    && printf 'root:x:0:0:root:/root:/sbin/nologin\nappuser:x:1000:1000:Strain Seer:/data:/sbin/nologin\n' > /out/passwd \
    && printf 'root:x:0:\nappuser:x:1000:\n' > /out/group
# The shared libraries the binary links (FFmpeg's and everything they pull in: the `ldd` closure),
# minus those of the packages distroless cc already has (libc6, libgcc-s1, libgomp1, libstdc++6,
# libssl3). Each is copied under its soname into /out/lib + the directory it lives in here
# (/usr/lib/x86_64-linux-gnu, on the loader's default search path, so no LD_LIBRARY_PATH). A
# library that ldd cannot find, or that no Debian package owns, fails the build.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN ldd /out/strain-seer > /out/ldd.txt \
    && if grep -q 'not found' /out/ldd.txt; then cat /out/ldd.txt >&2; exit 1; fi \
    && awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' /out/ldd.txt > /out/libs.txt \
    && while read -r soname path; do \
         real=$(readlink -f "$path"); \
         pkg=$(dpkg -S "*/${real##*/}" | head -n 1 | cut -d: -f1); \
         case "$pkg" in \
           libc6|libgcc-s1|libgomp1|libstdc++6|libssl3) continue ;; \
           "") echo "no Debian package owns $real" >&2; exit 1 ;; \
         esac; \
         mkdir -p "/out/lib${real%/*}" && cp "$real" "/out/lib${real%/*}/$soname"; \
       done < /out/libs.txt \
    && du -sh /out/lib && find /out/lib -type f | wc -l

# --- runtime: distroless cc (glibc, libgcc, libstdc++, libssl), no shell, no package manager, no
# curl; plus FFmpeg's shared libraries from the build stage (the `ldd` closure above) -----------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Strain Seer" \
      org.opencontainers.image.description="Measure 2D strain from photos of a deforming specimen: fiducial markers, ruler scale, regression, plots." \
      org.opencontainers.image.licenses="MIT AND GPL-2.0-or-later" \
      org.opencontainers.image.source="https://github.com/strain-seer/strain-seer" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build --chown=1000:1000 /out/data /data
COPY --from=build --chown=1000:1000 /out/tmp/app /tmp/app
COPY --from=build /out/lib/ /
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
