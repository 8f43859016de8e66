# Ephemera image: `node dist/cli.js <serve|migrate|archive>`.
#
# BASE_IMAGE is a Debian bookworm + Node 20 image (node:20-bookworm-slim or equivalent). No
# registry is reachable here, so it is built locally and tagged localhost/ephemera-base:20;
# pass --build-arg BASE_IMAGE=node:20-bookworm-slim where a registry is available.
ARG BASE_IMAGE=localhost/ephemera-base:20

# --- build: all dependencies, compile TypeScript --------------------------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts are needed to compile (tsc only).
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only -----------------------------------------------------
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && npm cache clean --force

# --- runtime: no RUN steps, so the base needs no shell for this stage -------------------------
FROM ${BASE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    HOME=/tmp
# Everything is owned by root and only readable by the app user: the process writes nothing
# to disk, so the root filesystem can be mounted read-only.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 10001:10001
EXPOSE 8080
# Node runs as PID 1 and handles SIGTERM itself (stop accepting, drain, close the driver).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
