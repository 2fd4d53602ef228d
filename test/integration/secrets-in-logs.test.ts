import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis, type Redis } from "@moonfleet/queues";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { redisServerPath } from "../../apps/launcher/src/redis-server.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// The real api, worker and producer at LOG_LEVEL=debug, with an admin token and a Redis that wants
// a password: whatever they are asked and however they fail, neither secret reaches their output.

const ADMIN_TOKEN = `admin-${randomBytes(12).toString("hex")}`;
const REDIS_PASSWORD = `redispw${randomBytes(12).toString("hex")}`;
const UPSTREAM_PASSWORD = `upstreampw${randomBytes(8).toString("hex")}`;
const SECRETS = { ADMIN_TOKEN, REDIS_PASSWORD, UPSTREAM_PASSWORD } as const;

const cleanups: Array<() => Promise<unknown>> = [];
const runs: AppProcess[] = [];
let redisPort = 0;
let redisUrl = "";
let upstreamUrl = "";

/** Runs an app with the secrets in its environment; every run's output is checked at the end. */
function start(app: "api" | "worker" | "producer", env: Record<string, string>): AppProcess {
  const p = runApp(app, { LOG_LEVEL: "debug", ...env });
  runs.push(p);
  return p;
}

/** Every secret found in `output`, with the line it is on. */
function leaks(output: string, secrets: Readonly<Record<string, string>> = SECRETS): string[] {
  return output.split("\n").flatMap((line) =>
    Object.entries(secrets)
      .filter(([, secret]) => line.includes(secret))
      .map(([name]) => `${name} in: ${line.slice(0, 300)}`),
  );
}

beforeAll(async () => {
  // A private redis-server with requirepass: startRedisServer takes no extra arguments.
  const bin = redisServerPath();
  if (!bin) throw new Error("redis-server is not on PATH");
  const dir = mkdtempSync(join(tmpdir(), "moonfleet-secrets-redis-"));
  redisPort = await freePort();
  const server: ChildProcess = spawn(
    bin,
    [
      "--port",
      String(redisPort),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
    ].concat([
      "--requirepass",
      REDIS_PASSWORD,
      "--daemonize",
      "no",
      "--logfile",
      "",
      "--loglevel",
      "warning",
    ]),
    { stdio: "ignore" },
  );
  const exited = new Promise((resolve) => server.once("exit", resolve));
  cleanups.push(async () => {
    server.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  redisUrl = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redisPort}`;
  const probe: Redis = createRedis(redisUrl, { name: "secrets-probe" });
  cleanups.push(() => probe.quit().catch(() => undefined));
  await waitUntil(
    "the password-protected redis-server to answer",
    async () => (await probe.ping()) === "PONG",
    10_000,
  );

  const { sim, url } = await startSimulator();
  cleanups.push(() => sim.close());
  // Credentials in the upstream URL too: the client talks to its origin only, and logs hide them.
  const u = new URL(url);
  u.username = "moonfleet";
  u.password = UPSTREAM_PASSWORD;
  upstreamUrl = u.toString();
});

afterAll(async () => {
  await Promise.all(runs.map((p) => stopApp(p, 3_000)));
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe("secrets in logs", () => {
  it("a running fleet asked to log (bad PATCH, registrations, 401s) prints neither the admin token nor the Redis password", async () => {
    const prefix = uniquePrefix();
    const apiPort = await freePort();
    const env = {
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      ADMIN_TOKEN,
      UPSTREAM_URL: upstreamUrl,
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      SHUTDOWN_TIMEOUT_MS: "3000",
    };
    const api = start("api", env);
    const worker = start("worker", env);
    const producer = start("producer", env);
    const base = `http://127.0.0.1:${apiPort}`;
    await waitUntil("the api to be ready", async () => (await fetch(`${base}/readyz`)).ok, 20_000);

    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
    const mints = demoMints(5, "secrets-in-logs");
    const requests: Array<[string, RequestInit]> = [
      ["/tokens", { method: "POST", headers: auth, body: JSON.stringify({ mints }) }],
      ["/config", { method: "PATCH", headers: auth, body: JSON.stringify({ timeoutHot: "abc", redisUrl }) }],
      ["/config", { method: "PATCH", headers: auth, body: `{"adminToken": "${ADMIN_TOKEN}"` }],
      ["/config", { method: "PATCH", headers: auth, body: JSON.stringify({ timeoutCold: 2.5 }) }],
      ["/config", { method: "PATCH", headers: { "content-type": "application/json" }, body: "{}" }],
      ["/tokens", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}x` }, body: "{}" }],
      [
        `/admin/queues/api/queues`,
        { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}!`).toString("base64")}` } },
      ],
      [`/tokens?token=${ADMIN_TOKEN}`, {}],
      ["/nope", { headers: auth }],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(`${base}${path}`, init);
      const text = await res.text();
      expect(res.status, `${init.method ?? "GET"} ${path}: ${text}`).toBeLessThan(500);
    }
    // What the api shows about itself hides them too.
    for (const path of ["/config", "/health/scheduler", "/health/system", "/metrics"]) {
      const text = await (await fetch(`${base}${path}`)).text();
      expect(leaks(text), path).toEqual([]);
    }
    // Let the producer and worker score the tokens (their debug lines), then stop everyone.
    await waitUntil("the tokens to be scored", async () => {
      const body = (await (await fetch(`${base}/tokens?limit=10`)).json()) as {
        items: Array<{ score: number | null }>;
      };
      return body.items.length === mints.length && body.items.every((i) => i.score !== null);
    });
    await Promise.all([producer, worker, api].map((p) => stopApp(p, 5_000)));

    for (const p of [api, worker, producer]) {
      const out = p.output();
      expect(out).toMatch(/"level":"debug"|"level":"info"/); // the run did log
      expect(leaks(out)).toEqual([]);
    }
    // The api logged its Redis URL with the password replaced.
    expect(api.output()).toContain(`redis://:redacted@127.0.0.1:${redisPort}`);
  });

  it("a process that cannot start, or cannot log in to Redis, prints neither secret", async () => {
    const shortToken = `short${randomBytes(4).toString("hex")}`; // 13 characters: below the 16 required
    const wrongPassword = `wrongpw${randomBytes(8).toString("hex")}`;
    const secrets = { ...SECRETS, shortToken, wrongPassword };
    // Both apps read settings through the same resolveConfigOrExit: one bad start each.
    const badSettings: Array<["api" | "worker", Record<string, string>, string[]]> = [
      [
        "api",
        {
          ADMIN_TOKEN: shortToken,
          REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:99999999`,
          UPSTREAM_URL: `http://u:${UPSTREAM_PASSWORD}@[::1`,
        },
        ["ADMIN_TOKEN", "REDIS_URL", "UPSTREAM_URL"],
      ],
      [
        "worker",
        { ADMIN_TOKEN: shortToken, REDIS_URL: `${REDIS_PASSWORD}@127.0.0.1` },
        ["ADMIN_TOKEN", "REDIS_URL"],
      ],
    ];
    await Promise.all(
      badSettings.map(async ([app, env, named]) => {
        const p = start(app, env);
        const { code } = await p.exited;
        const what = `${app} with bad ${named.join(", ")}: ${p.output()}`;
        expect(code, what).toBe(1);
        for (const name of named) expect(p.output(), what).toContain(`invalid setting ${name}=(hidden)`);
        expect(leaks(p.output(), secrets), what).toEqual([]);
      }),
    );

    // A valid URL with the wrong password: the processes start, fail to log in, and say so safely.
    const env = {
      ADMIN_TOKEN,
      REDIS_URL: `redis://:${wrongPassword}@127.0.0.1:${redisPort}`,
      REDIS_KEY_PREFIX: uniquePrefix(),
      API_PORT: String(await freePort()),
      API_HOST: "127.0.0.1",
      UPSTREAM_URL: upstreamUrl,
      SHUTDOWN_TIMEOUT_MS: "2000",
    };
    const refused = [start("api", env), start("worker", env)];
    await waitUntil(
      "both to log the refused login",
      () => refused.every((p) => p.output().includes("WRONGPASS")),
      20_000,
    );
    await Promise.all(refused.map((p) => stopApp(p, 3_000)));
    for (const p of refused) expect(leaks(p.output(), secrets)).toEqual([]);
  });
});
