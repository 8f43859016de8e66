# Ephemera image: `node --import ./dist/observability/instrument.js dist/cli.js <serve|migrate|archive>`.
#
# BASE_IMAGE is a Debian bookworm + Node 20 image (node:20-bookworm-slim or equivalent). No
# registry is reachable here, so scripts/dev/image.sh builds one locally and tags it
# localhost/ephemera-base:20; pass --build-arg BASE_IMAGE=node:20-bookworm-slim where a registry
# is available.
ARG BASE_IMAGE=localhost/ephemera-base:20

# --- deps: production dependencies only; the runtime stage is built on top of it -------------
# (Building on it instead of COPYing node_modules out of it saves a 280 MB copy per build and
# lets buildah's layer cache skip re-hashing node_modules when only src/ changed.)
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts are needed (no native modules). npm's cache and logs are removed in the
# same layer, so nothing but node_modules is added.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error \
 && rm -rf /root/.npm /tmp/*

# --- build: all dependencies, compile TypeScript --------------------------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime: production node_modules + compiled JavaScript, nothing else ---------------------
FROM deps AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOME=/tmp
# Everything is owned by root and only readable by the app user: the process writes nothing
# to disk, so the root filesystem can be mounted read-only.
COPY --from=build /app/dist ./dist
USER 10001:10001
EXPOSE 8080
# Node runs as PID 1 and handles SIGTERM itself (stop accepting, drain, close the driver).
STOPSIGNAL SIGTERM
# The preload starts OpenTelemetry before any application module is loaded; it does nothing
# unless OTEL_* variables configure an exporter (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER).
ENTRYPOINT ["node", "--import", "./dist/observability/instrument.js", "dist/cli.js"]
CMD ["serve"]
