// Container health checks, run inside the container (Docker HEALTHCHECK, Kubernetes exec probes):
//   node deploy/healthcheck.mjs http [port]   GET http://127.0.0.1:<port>/livez (port: API_PORT or 8000)
//   node deploy/healthcheck.mjs worker        this host's worker heartbeat is alive in Redis
// Exit 0 healthy, 1 not.
/* global AbortSignal */
import { hostname } from "node:os";
import { Redis } from "ioredis";

const [mode = "http", portArg] = process.argv.slice(2);

async function http() {
  const port = portArg ?? process.env.API_PORT ?? "8000";
  const res = await fetch(`http://127.0.0.1:${port}/livez`, { signal: AbortSignal.timeout(2_000) });
  return res.ok;
}

// A worker serves no HTTP. Its controller writes a heartbeat key with a short expiry every tick
// (`{prefix}:worker:<hostname>-<pid>-<id>`), so a missing key means the event loop is stuck or the
// process is not running its loops. When Redis itself does not answer, this process cannot tell,
// and restarting it would not help: the check passes and the api's /readyz reports Redis.
async function worker() {
  const prefix = process.env.REDIS_KEY_PREFIX ?? "mf";
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
  } catch {
    return true;
  }
  try {
    const ids = (await redis.zrange(`{${prefix}}:workers`, 0, -1)).filter((id) =>
      id.startsWith(`${hostname()}-`),
    );
    if (ids.length === 0) return false;
    return (await redis.exists(...ids.map((id) => `{${prefix}}:worker:${id}`))) > 0;
  } finally {
    redis.disconnect();
  }
}

const checks = { http, worker };
if (!Object.hasOwn(checks, mode)) {
  process.stderr.write(`healthcheck: unknown mode ${mode} (http, worker)\n`);
  process.exit(2);
}
checks[mode]().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
