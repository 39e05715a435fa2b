# syntax=docker/dockerfile:1
# nosql-db: one image for a database node (the default) and for the Lab (`lab --attach ...`).
#
#   docker build -t nosql-db .
#   docker run -e NODE_ID=1 -e ADMIN_TOKEN=secret -p 7001:7001 nosql-db
#
# The sources are TypeScript run through tsx (no compile step), so the runtime stage carries
# src/ and the production node_modules; the Lab UI is built here, in the build stage.

# ---- build: install with the lockfile, build the Lab UI, drop dev dependencies --------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Toolchain for native addons (lmdb, msgpackr-extract) should no prebuilt binary fit.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Scripts off here: `prepare` builds the UI, which needs the sources copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm rebuild --no-audit --no-fund \
 && npm run build:web \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: small, non-root ------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=7001 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/tsconfig.json ./
# The code stays root-owned and read-only to the service user; only /data is writable.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# HTTP API on PORT, peer protocol on PORT + 1000.
EXPOSE 7001 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "scripts/healthcheck.js"]
# HOST=0.0.0.0 needs ADMIN_TOKEN (or `--insecure`); set ADVERTISE_HOST to the name other nodes
# reach this container at (compose service name, pod DNS name).
# --single-threaded-gc: V8 collects on the node's own thread, as `nosqldb cluster` runs its nodes
# (src/cluster/node-exec-argv.ts): compose puts three nodes on one host, where helper threads
# only wait for cores the other nodes hold (write p99 at half load, median of runs: 10 ms against 14.6).
ENTRYPOINT ["node", "--single-threaded-gc", "bin/nosqldb.js"]
CMD ["node"]
