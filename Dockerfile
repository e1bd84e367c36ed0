# syntax=docker/dockerfile:1
# timebridge: the web UI and a release binary built in two stages, run as a non-root
# user on a slim Debian base. Data (SQLite file and generated keys) lives in /data.

FROM node:20-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY ui/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY rust-toolchain.toml Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY --from=ui /src/ui/dist ./ui/dist
RUN cargo build --release --locked -p timebridge \
 && install -D target/release/timebridge /out/timebridge

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin timebridge \
 && mkdir -p /data && chown timebridge /data
COPY --from=build /out/timebridge /usr/local/bin/timebridge
USER timebridge
ENV DATA_DIR=/data \
    DATABASE_URL=sqlite:///data/timebridge.db \
    BIND=0.0.0.0:8080 \
    LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["timebridge", "healthcheck"]
ENTRYPOINT ["timebridge"]
CMD ["serve"]
