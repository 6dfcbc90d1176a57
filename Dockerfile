# syntax=docker/dockerfile:1
# Stratum Twin engine image. Build from the repository root:
#   docker build -t stratum-twin:dev .
# Stages: deps (all deps) -> build (UI bundle) ; prod-deps (runtime deps only) -> runtime.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- all dependencies (dev included) for building --------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# ---- build the UI (twin-ui/dist, Vite) -------------------------------------
FROM deps AS build
COPY . .
RUN npm run build:ui

# ---- production dependencies only ------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# ---- runtime ---------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# Only settings the code reads (test/deploy-settings.test.ts checks it). HOST=0.0.0.0: inside the
# container the server must listen on every interface to be reachable through the published port
# (`npm start` on a laptop keeps 127.0.0.1). test/container.test.ts runs this CMD with this ENV in a
# network namespace and reaches it from outside.
ENV HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# tini-like init is provided by `docker run --init` / k8s; keep the image minimal.
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node . .
COPY --from=build --chown=node:node /app/twin-ui/dist ./twin-ui/dist
# The durable journal, ledger and checkpoint (README "Durability"): mount a volume here to keep them
# across container restarts.
ENV STRATUM_DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
VOLUME /data
# the official node image ships an unprivileged `node` user (uid 1000)
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "bin/stratum.mjs", "start"]
