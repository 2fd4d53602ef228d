import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { loadConfigOrExit } from "@moonfleet/config";
import { safeUrl } from "@moonfleet/telemetry";
import { calmLine, summaryLine, type SchedulerHealth } from "./calm-view.js";
import { Supervisor } from "./children.js";
import { fork } from "node:child_process";
import { freePort, portIsFree } from "./free-port.js";
import { RedisServerMissingError, startRedisServer, type RedisServer } from "./redis-server.js";

// `npm start`: the whole fleet on this machine, with its own Redis and simulator unless the
// environment points elsewhere. Apps log JSON to stdout; the launcher's own lines start with "moonfleet:".
// A closed stdout (`npm start | tee log` ended by Ctrl-C, a closed terminal) must not kill the
// launcher before it has stopped its children and its redis-server: after EPIPE it goes quiet.
let quiet = false;
const say = (msg: string) => {
  if (!quiet) process.stdout.write(`moonfleet: ${msg}\n`);
};
const fail = (msg: string): never => {
  if (!quiet) process.stderr.write(`moonfleet: ${msg}\n`);
  process.exit(1);
};

const config = loadConfigOrExit("start");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const dataDir = join(root, ".moonfleet");
const appMain = (app: string) => join(root, "apps", app, "dist", "main.js");
const supervisor = new Supervisor(say);
// Pretty on a terminal (or when asked): the apps' JSON lines are read here, not shown.
const pretty =
  config.logFormat === "pretty" || (config.logFormat === "auto" && process.stdout.isTTY === true);
const onLine = pretty
  ? (label: string, line: string) => {
      const shown = calmLine(label, line, Date.now());
      if (shown !== null) say(shown);
    }
  : undefined;
const app = (label: string, name: string, env: NodeJS.ProcessEnv) =>
  supervisor.start({ label, main: appMain(name), env, ...(onLine ? { onLine } : {}) });
let redis: RedisServer | null = null;

async function waitFor(url: string, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s (${url})`);
}

/** A redis-server left over from a launcher that was killed: stop it before starting ours. */
function stopStaleRedis(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8"));
  try {
    if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("redis-server"))
      process.kill(pid, "SIGTERM");
  } catch {
    // gone already
  }
}

async function stop(code: number): Promise<never> {
  say("stopping...");
  await supervisor.stopAll(config.shutdownTimeoutMs + 1_000);
  await redis?.stop();
  say("stopped");
  process.exit(code);
}

let stopping = false;
const onSignal = () => {
  if (stopping) {
    // A second signal: no more waiting, but our redis-server still goes.
    redis?.process.kill("SIGKILL");
    process.exit(1);
  }
  stopping = true;
  void stop(0);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
process.on("SIGHUP", onSignal);
for (const stream of [process.stdout, process.stderr])
  stream.on("error", () => {
    quiet = true;
    if (!stopping) onSignal();
  });

// Before anything starts: the api's port must be free, or nothing of this run could be reached.
if (!(await portIsFree(config.apiPort, config.apiHost)))
  fail(
    `API_PORT ${config.apiPort} is already in use on ${config.apiHost}: stop what holds it (another npm start?) or choose another port, e.g. API_PORT=${config.apiPort + 10} npm start`,
  );

try {
  let redisUrl = config.redisUrl;
  if (!redisUrl) {
    const pidFile = join(dataDir, "redis.pid");
    stopStaleRedis(pidFile);
    redis = await startRedisServer({
      dir: join(dataDir, "redis"),
      appendOnly: true,
      detached: true,
      nice: config.redisServerNice,
    });
    writeFileSync(pidFile, String(redis.process.pid));
    // Its guard stops it if the launcher dies without stopping it (SIGKILL, a crash).
    fork(join(root, "apps", "launcher", "dist", "watchdog.js"), [String(redis.process.pid)], {
      detached: true,
      stdio: ["ignore", "ignore", "ignore", "ipc"],
    }).unref();
    redisUrl = redis.url;
    say(
      `started redis-server on ${safeUrl(redisUrl)} (data in .moonfleet/redis, AOF on, ${
        redis.niceRefused ? `at the default priority: ${redis.niceRefused}` : `nice ${config.redisServerNice}`
      })`,
    );
  }

  let upstreamUrl = config.upstreamUrl;
  let simulatorUrl: string | null = null;
  const adminToken = config.adminToken ?? randomBytes(24).toString("base64url");
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl, ADMIN_TOKEN: adminToken };
  if (!upstreamUrl) {
    const port = process.env.SIMULATOR_PORT ? config.simulatorPort : await freePort();
    simulatorUrl = `http://127.0.0.1:${port}`;
    app("simulator", "simulator", { ...env, SIMULATOR_PORT: String(port) });
    await waitFor(`${simulatorUrl}/livez`, "the simulator");
    upstreamUrl = simulatorUrl;
    say(`started the DexScreener simulator on ${simulatorUrl}`);
  }
  env.UPSTREAM_URL = upstreamUrl;
  // Discovery: the simulator's migration stream unless DISCOVERY_URL says otherwise.
  const discoveryUrl =
    config.discoveryUrl ?? (simulatorUrl ? `${simulatorUrl.replace(/^http/, "ws")}/api/data` : null);
  if (discoveryUrl) env.DISCOVERY_URL = discoveryUrl;

  app("api", "api", env);
  app("producer", "producer", env);
  if (discoveryUrl !== "off") app("discovery", "discovery", env);
  for (let i = 1; i <= config.workerProcesses; i++) app(`worker-${i}`, "worker", env);

  const api = `http://127.0.0.1:${config.apiPort}`;
  await waitFor(`${api}/readyz`, "the api");

  // Demo mints go only into a Redis of our own, or into the operator's when asked for explicitly.
  const demoTokens = config.redisUrl && process.env.DEMO_TOKENS === undefined ? 0 : config.demoTokens;
  if (simulatorUrl && demoTokens > 0) {
    const res = await fetch(`${simulatorUrl}/admin/demo-mints?count=${demoTokens}`);
    const { mints } = (await res.json()) as { mints: string[] };
    let added = 0;
    for (let i = 0; i < mints.length; i += 1_000) {
      const reg = await fetch(`${api}/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ mints: mints.slice(i, i + 1_000) }),
      });
      if (!reg.ok) throw new Error(`registering demo tokens failed: HTTP ${reg.status} ${await reg.text()}`);
      added += ((await reg.json()) as { added: string[] }).added.length;
    }
    say(`registered ${mints.length} demo tokens from the simulator (${added} new)`);
  }

  say("the fleet is running:");
  say(`  dashboard     ${api}/`);
  say(`  tokens        ${api}/tokens?limit=50`);
  say(`  health        ${api}/health/scheduler   (and /health/system, /metrics)`);
  say(
    `  queues        ${api}/admin/queues   (Bull Board: user ${config.adminUser}, password = the admin token)`,
  );
  say(`  readiness     ${api}/readyz`);
  say(`  redis         ${safeUrl(redisUrl)}${config.redisUrl ? " (REDIS_URL)" : " (private redis-server)"}`);
  say(`  upstream      ${safeUrl(upstreamUrl)}${simulatorUrl ? " (simulator)" : ""}`);
  say(`  discovery     ${describeDiscovery(discoveryUrl, !config.discoveryUrl)}`);
  say(
    `  processes     api, producer, ${discoveryUrl === "off" ? "" : "discovery, "}${config.workerProcesses} workers`,
  );
  if (!config.adminToken)
    say(`  admin token   ${adminToken}   (generated for this run; set ADMIN_TOKEN to choose one)`);
  say(
    `  output        ${pretty ? "a summary every 10 s, warnings and errors (LOG_FORMAT=json for every event)" : "JSON lines"}`,
  );
  say("press Ctrl-C to stop");
  if (pretty) void summaries(api);
} catch (err) {
  if (err instanceof RedisServerMissingError) fail(err.message);
  process.stderr.write(`moonfleet: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
}

function describeDiscovery(url: string | null, simulator: boolean): string {
  if (url === "off") return "off (DISCOVERY_URL=off)";
  if (!url) return "PumpPortal (wss://pumpportal.fun/api/data)";
  return `${safeUrl(url)}${simulator ? " (the simulator's migration stream)" : ""}`;
}

/** Every 10 s, one line from /health/scheduler (the calm view). */
async function summaries(api: string): Promise<void> {
  for (;;) {
    await sleep(10_000);
    if (stopping) return;
    try {
      const res = await fetch(`${api}/health/scheduler`, { signal: AbortSignal.timeout(3_000) });
      say(summaryLine((await res.json()) as SchedulerHealth, Date.now()));
    } catch (err) {
      say(`the api did not answer /health/scheduler (${err instanceof Error ? err.message : String(err)})`);
    }
  }
}
