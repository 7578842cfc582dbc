# syntax=docker/dockerfile:1
# Multi-stage build: compile with the Rust toolchain, ship a small Debian runtime.
FROM rust:1 AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin feishu-vc-exporter \
 && cp target/release/feishu-vc-exporter /feishu-vc-exporter

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/feishu-vc-exporter --create-home exporter
COPY --from=builder /feishu-vc-exporter /usr/local/bin/feishu-vc-exporter
USER 10001:10001
WORKDIR /var/lib/feishu-vc-exporter
EXPOSE 9874
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/feishu-vc-exporter", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/feishu-vc-exporter"]
# Demo mode needs no credentials. For a real tenant run e.g.
#   serve --config /etc/feishu-vc-exporter/config.yml
# with FEISHU_APP_ID and FEISHU_APP_SECRET_FILE in the environment.
CMD ["serve", "--demo", "--web.listen-address", "0.0.0.0:9874"]
