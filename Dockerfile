# sealgate's container image: built on Debian bookworm, run on bookworm-slim with only the
# shared libraries the binary and its module link (tests/chart/check_image.py keeps this list
# honest against `ldd` of both).

# ---- build ---------------------------------------------------------------------------------
FROM debian:bookworm AS build
# The -dev packages and tools, from the same list scripts/test installs.
COPY scripts/deps /tmp/deps
RUN bash /tmp/deps build && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DSEALGATE_TESTS=OFF \
    && cmake --build /build -j"$(nproc)" \
    && strip /build/sealgate /build/sealgate-net.so \
    && /build/sealgate version

# ---- runtime -------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libssl3 libsodium23 libmicrohttpd12 libgnutls30 libyaml-0-2 libjansson4 libcjson1 libgit2-1.5 \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/sealgate /usr/bin/sealgate
# The module with the verbs that need libgit2 and libmicrohttpd (serve among them), where the
# binary looks for it: /usr/bin/../lib/sealgate (docs/operations.md, "Installed files").
COPY --from=build /build/sealgate-net.so /usr/lib/sealgate/sealgate-net.so
# The bundled rule packs, where the chart's config names them.
COPY rules/ /usr/share/sealgate/rules/
# Mount points the chart fills; the root filesystem is read-only at run time.
RUN mkdir -p /etc/sealgate /var/cache/sealgate && chown 65532:65532 /var/cache/sealgate
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["sealgate", "serve", "--config", "/etc/sealgate/config.yaml"]
