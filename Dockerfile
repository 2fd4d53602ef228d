# One image for every moonfleet app; the command picks the app:
#   docker run moonfleet                                   # api (the default command)
#   docker run moonfleet node apps/worker/dist/main.js     # a worker (producer, simulator alike)
# docker-compose.yml and deploy/kubernetes/ run it this way. test/integration/docker-build.test.ts
# runs the same build steps without Docker, from a clean copy of the repo; test/compose builds it
# with Docker and runs the compose stack.
# No `# syntax=` line: BuildKit then uses the Dockerfile frontend built into the engine instead of
# pulling one from a registry, and the classic builder (DOCKER_BUILDKIT=0) builds it the same way.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# The manifests first, so the dependency layer is rebuilt only when they change. npm ci needs
# every workspace's package.json (the lockfile names them all).
COPY package.json package-lock.json ./
COPY packages/adaptive/package.json packages/adaptive/
COPY packages/config/package.json packages/config/
COPY packages/domain/package.json packages/domain/
COPY packages/exports/package.json packages/exports/
COPY packages/queues/package.json packages/queues/
COPY packages/runtime/package.json packages/runtime/
COPY packages/scoring/package.json packages/scoring/
COPY packages/store/package.json packages/store/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/upstream/package.json packages/upstream/
COPY apps/api/package.json apps/api/
COPY apps/cli/package.json apps/cli/
COPY apps/discovery/package.json apps/discovery/
COPY apps/launcher/package.json apps/launcher/
COPY apps/producer/package.json apps/producer/
COPY apps/simulator/package.json apps/simulator/
COPY apps/worker/package.json apps/worker/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY packages/ packages/
COPY apps/ apps/
RUN npx tsc -b
# Drop the dev dependencies (vitest, eslint, prettier...; typescript stays as an optional peer of
# valibot, which @bull-board/api uses). The workspace links stay.
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the app user: the apps write nothing to disk (state is in Redis).
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/packages/ packages/
COPY --from=build /app/apps/ apps/
COPY deploy/healthcheck.mjs deploy/
USER node
EXPOSE 8000
# The default command's check (the api's /livez on API_PORT). The other apps override it:
# docker-compose.yml checks the simulator's /livez and the worker's heartbeat in Redis; the
# producer serves nothing to check (see "Operations" in README.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "deploy/healthcheck.mjs", "http"]
# node handles SIGTERM itself (graceful drain, then exit 0); compose adds an init (init: true).
CMD ["node", "apps/api/dist/main.js"]
