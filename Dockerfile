# teleport-datadog-forwarder: built with the dev toolchain, run with production dependencies only.
#
#   docker build -t teleport-datadog-forwarder .
#   docker run -d --name tdf \
#     -v tdf-spool:/var/lib/teleport-datadog-forwarder \
#     -v "$PWD/forwarder.toml:/etc/teleport-datadog-forwarder/forwarder.toml:ro" \
#     -v "$PWD/certs:/etc/teleport-datadog-forwarder/certs:ro" \
#     -e DD_API_KEY -e TDF_INGEST_KEY_PASSPHRASE -p 8888:8888 teleport-datadog-forwarder
#
# certs/ holds ca.crt, server.crt and server.key from `configure`, and forwarder.toml names them relative to its
# own directory, as deploy/compose/forwarder.toml does (ca = "certs/ca.crt", ...). TDF_INGEST_KEY_PASSPHRASE is
# server.key's passphrase (private_key_passphrase of the handler's fluent.conf). the files must be readable by
# uid 10001 (configure writes keys 0600 and certificates 0644): `sudo chown 10001 certs/server.key`.
# check first: `docker run --rm`, the same -v and -e options, and
#   teleport-datadog-forwarder check --offline --config /etc/teleport-datadog-forwarder/forwarder.toml
#
# the leveldb binding (classic-level) ships prebuilt for linux x64 and arm64 on glibc, so neither stage needs a
# compiler. package.json allowScripts says which install scripts npm 11 runs; the prebuilds load (checked below).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY proto ./proto
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# TDF_STORAGE: the spool lives on the volume below. TDF_ADMIN_HOST: the admin server (health, metrics) listens on
# the container's address so probes and scrapers reach it; publish 8889 only where they need it.
# NODE_OPTIONS, MALLOC_ARENA_MAX: a smaller young generation and two malloc arenas, ~40 MiB less rss under load
# (src/runtime.ts LAUNCH; the systemd unit sets the same)
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=4 \
    MALLOC_ARENA_MAX=2 \
    TDF_STORAGE=/var/lib/teleport-datadog-forwarder \
    TDF_ADMIN_HOST=0.0.0.0
WORKDIR /app
RUN groupadd --system --gid 10001 forwarder \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/teleport-datadog-forwarder --shell /usr/sbin/nologin forwarder \
 && mkdir -p /var/lib/teleport-datadog-forwarder /etc/teleport-datadog-forwarder \
 && chown 10001:10001 /var/lib/teleport-datadog-forwarder \
 && chmod 0700 /var/lib/teleport-datadog-forwarder
# what the npm package ships (package.json "files"): dist/src, proto (loaded at run time), fixtures (the demo)
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/proto ./proto
COPY fixtures ./fixtures
# fail the build here, not at the first start, if the leveldb binding has no prebuild for this platform
RUN node -e "const { ClassicLevel } = require('classic-level'); const db = new ClassicLevel('/tmp/tdf-probe'); db.open().then(() => db.close()).then(() => console.log('classic-level binding loads'))" \
 && rm -rf /tmp/tdf-probe
USER 10001:10001
VOLUME ["/var/lib/teleport-datadog-forwarder"]
# 8888: the fluentd-compatible ingest (https, mutual tls). 8889: the admin server (/healthz, /readyz, /metrics, /status)
EXPOSE 8888 8889
# no curl in slim images: node's fetch. TDF_ADMIN_PORT, when set, moves the admin server and this check with it;
# with admin.enabled = false, run the container with --no-healthcheck
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TDF_ADMIN_PORT || 8889) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: stop accepting, let in-flight deliveries finish, close the spool (give it time: docker stop -t 60)
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["start", "--config", "/etc/teleport-datadog-forwarder/forwarder.toml"]
