import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portIsFree } from "../../apps/launcher/src/free-port.js";
import {
  buildkitAvailable,
  dockerUnavailable,
  exec,
  inspectContainers,
  parseComposePs,
  run,
  type ComposeContainer,
} from "./docker.js";

// `docker compose --profile demo up`, for real: on a copy of the repo (its tracked and untracked
// files, as a fresh clone would have them), under a compose project name and an image tag of its
// own and a free host port, so it never touches a stack or an image of yours. It builds the image,
// brings the stack up, scales it, kills a worker, restarts Redis, stops it and checks the exit
// codes, then removes every container, network, volume and image it made.
// .ci/run starts a Docker engine first (shared/tools/docker-standins); elsewhere, without an engine
// the whole file is skipped with the reason (in CI it fails instead).

/**
 * A host port for the API, free on every interface now and below the kernel's ephemeral range
 * (32768-60999 on Linux), so that no outgoing connection of the tests running beside this one can
 * take it in the minute before compose binds it (one did: "bind: address already in use").
 */
async function hostPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portIsFree(port, "0.0.0.0")) return port;
  }
  throw new Error("no free host port between 20000 and 32000");
}

const root = fileURLToPath(new URL("../../", import.meta.url));
const BASE_IMAGES = ["node:20-bookworm-slim", "redis:7-alpine"];
const unavailable = await dockerUnavailable(BASE_IMAGES);
if (unavailable && process.env.CI)
  throw new Error(`compose e2e: ${unavailable}; .ci/run starts the engine with shared/tools/docker-standins`);
if (unavailable) console.warn(`\n*** compose e2e SKIPPED: ${unavailable} ***\n`);

const id = randomBytes(4).toString("hex");
const PROJECT = `mf-e2e-${id}`;
const IMAGE = `moonfleet-e2e:${id}`;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const APP_SERVICES = ["simulator", "producer", "discovery", "worker", "api", "seed"] as const;
const SEEDED = 500;
const WORKERS = 3;

/** The repo as a clone has it: tracked files plus untracked ones git does not ignore. */
async function copyRepo(dest: string): Promise<number> {
  const out = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
  });
  let n = 0;
  for (const file of out.split("\0").filter(Boolean)) {
    try {
      mkdirSync(dirname(join(dest, file)), { recursive: true });
      cpSync(join(root, file), join(dest, file));
      n++;
    } catch (err) {
      // A tracked file deleted in the work tree is not part of the copy.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== null)(
  `docker compose --profile demo: the stack from the repo's Dockerfile and docker-compose.yml${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let dir = "";
    let apiPort = 0;
    let base = "";
    let buildkit = false;
    const timings: string[] = [];
    const started = Date.now();
    const mark = (what: string) => timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const composeArgs = () => [
      "compose",
      "--project-name",
      PROJECT,
      "--file",
      "docker-compose.yml",
      "--file",
      "compose.e2e.yml",
      "--profile",
      "demo",
    ];
    const env = () => ({ ...process.env, DOCKER_BUILDKIT: buildkit ? "1" : "0" });
    const compose = (args: string[], timeoutMs = 180_000) =>
      run("docker", [...composeArgs(), ...args], { cwd: dir, env: env(), timeoutMs });
    const containers = async (service?: string): Promise<ComposeContainer[]> =>
      parseComposePs(
        await compose(["ps", "--all", "--format", "json", ...(service ? [service] : [])], 30_000),
      );

    /** What is wrong with the stack, for a failure message: each container's state and its last log lines. */
    async function diagnose(): Promise<string> {
      const lines: string[] = [];
      try {
        for (const c of await containers()) {
          const ok = c.State === "running" && c.Health !== "unhealthy" && c.Health !== "starting";
          const exitedOk = c.State === "exited" && c.ExitCode === 0;
          lines.push(`${c.Service} (${c.Name}): ${c.Status}`);
          if (!ok && !exitedOk) {
            const logs = await exec("docker", ["logs", "--tail", "12", c.ID], { timeoutMs: 20_000 });
            const text = `${logs.stdout}${logs.stderr}`.trim();
            if (text) lines.push(...text.split("\n").map((l) => `    ${c.Service}| ${l.slice(0, 400)}`));
          }
        }
        lines.push(...(await redisFromApps()));
      } catch (err) {
        lines.push(`(docker compose ps failed: ${(err as Error).message})`);
      }
      return lines.join("\n");
    }

    /**
     * Whether each app service reaches the Redis its REDIS_URL names (the apps retry quietly, so a
     * wrong host shows only here): one line per service, from inside one of its running containers.
     */
    async function redisFromApps(): Promise<string[]> {
      const probe = `
        const url = new URL(process.env.REDIS_URL ?? "");
        const s = require("node:net").connect(Number(url.port || 6379), url.hostname);
        const done = (m) => { console.log("REDIS_URL=" + url.href + ": " + m); process.exit(0); };
        s.setTimeout(3000, () => done("no answer in 3 s"));
        s.on("connect", () => s.write("PING\\r\\n"));
        s.on("data", (d) => done(String(d).startsWith("+PONG") ? "reached" : "answered " + String(d).trim()));
        s.on("error", (e) => done(e.message));`;
      const out: string[] = [];
      const running = (await containers()).filter((c) => c.State === "running" && c.Service !== "redis");
      for (const service of new Set(running.map((c) => c.Service))) {
        const c = running.find((x) => x.Service === service)!;
        const r = await exec("docker", ["exec", c.ID, "node", "-e", probe], { timeoutMs: 15_000 });
        out.push(`  ${service} -> ${(r.stdout + r.stderr).trim() || `exit ${r.code}`}`);
      }
      return out.length ? ["Redis as each app sees it:", ...out] : [];
    }

    /** Polls until `check` returns a truthy value; on timeout the error names `what` and the stack's state. */
    async function waitFor<T>(what: string, check: () => Promise<T>, timeoutMs: number, everyMs = 1_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      for (;;) {
        try {
          const v = await check();
          if (v) return v;
        } catch (err) {
          last = (err as Error).message;
        }
        if (Date.now() > deadline)
          throw new Error(
            `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ""}\n${await diagnose()}`,
          );
        await sleep(everyMs);
      }
    }

    /** Runs a compose step; when it fails the error carries the stack's state too. */
    async function step(args: string[], timeoutMs?: number) {
      try {
        return await compose(args, timeoutMs);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- the stack ---\n${await diagnose()}`, { cause: err });
      }
    }

    /**
     * A step that needs what the steps before it built: after a failure the later ones fail at
     * once, naming the first failure, instead of each waiting out its own deadline.
     */
    let firstFailure: string | null = null;
    const stage = (name: string, fn: () => Promise<void>) =>
      it(name, async () => {
        if (firstFailure) throw new Error(`not run: an earlier step failed ("${firstFailure}")`);
        try {
          await fn();
        } catch (err) {
          firstFailure = name;
          throw err;
        }
      });

    const api = async (path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    const getJson = async (path: string, headers: Record<string, string> = {}) => {
      const res = await api(path, { headers });
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
      return (await res.json()) as any;
    };
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`;

    /** Every registered token's mint and fetchedAt (null before its first score), page by page. */
    /**
     * Every registered token with its last fetch. Offset pages over a live sort can skip a token
     * that a refresh moves forward during the walk (value scheduling refreshes exported tokens every
     * 5 s), so the walk is repeated, up to 5 times, until it has seen as many tokens as the total.
     */
    async function allTokens(): Promise<Map<string, number | null>> {
      const out = new Map<string, number | null>();
      for (let walk = 0; walk < 5; walk++) {
        let total: number;
        for (let offset = 0; ; offset += 100) {
          const page = await getJson(`/tokens?limit=100&offset=${offset}&sort=updated_desc`);
          total = Number(page.total);
          for (const t of page.items) {
            const at = t.fetchedAt ? Date.parse(t.fetchedAt) : null;
            const seen = out.get(t.mint);
            out.set(t.mint, seen === undefined || seen === null ? at : Math.max(seen, at ?? seen));
          }
          if (page.items.length < 100 || offset + 100 >= page.total) break;
        }
        if (out.size >= total) break;
      }
      return out;
    }
    const scoredCount = async () => Number((await getJson("/tokens?limit=1&sort=score_asc")).total);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "moonfleet-compose-"));
      // BuildKit when buildx answers, unless DOCKER_BUILDKIT=0 asks for the classic builder.
      buildkit = process.env.DOCKER_BUILDKIT !== "0" && (await buildkitAvailable());
      const files = await copyRepo(dir);
      expect(files, "files copied from the repo").toBeGreaterThan(50);
      apiPort = await hostPort();
      base = `http://127.0.0.1:${apiPort}`;
      // The test's own .env (compose reads it for API_PORT and passes it to every app): the seed
      // needs ADMIN_TOKEN; a 1.2 s upstream keeps batches in flight long enough to kill one; the
      // stream announces a migration a second; the demo market is not scored for bots, so every
      // active token with a positive score may enter the exports (as in exports.test.ts).
      writeFileSync(
        join(dir, ".env"),
        [
          `ADMIN_TOKEN=${ADMIN_TOKEN}`,
          `API_PORT=${apiPort}`,
          `DEMO_TOKENS=${SEEDED}`,
          "SIMULATOR_LATENCY_MS=1200",
          "SIMULATOR_JITTER_MS=0",
          "SIMULATOR_MIGRATIONS_PER_MINUTE=60",
          "EXPORT_MIN_SCORE=0",
          "EXPORT_EXIT_SCORE=0",
          "",
        ].join("\n"),
      );
      // Only the image's name changes (one of the test's own, removed at the end).
      const override = { services: Object.fromEntries(APP_SERVICES.map((s) => [s, { image: IMAGE }])) };
      writeFileSync(join(dir, "compose.e2e.yml"), JSON.stringify(override, null, 2));
    }, 60_000);

    afterAll(async () => {
      // Whatever happened above: nothing of this run stays on the engine.
      await exec("docker", [...composeArgs(), "down", "--volumes", "--remove-orphans", "--timeout", "5"], {
        cwd: dir,
        env: env(),
        timeoutMs: 120_000,
      });
      await exec("docker", ["image", "rm", "--force", IMAGE, ...buildStages], { timeoutMs: 60_000 });
      if (dir) rmSync(dir, { recursive: true, force: true });
      console.info(`compose e2e (${buildkit ? "BuildKit" : "classic builder"}): ${timings.join(", ")}`);
    }, 180_000);

    /** Build-stage images the classic builder leaves untagged: made by this run, removed at its end. */
    let buildStages: string[] = [];
    const dangling = async () =>
      (await run("docker", ["images", "--quiet", "--no-trunc", "--filter", "dangling=true"]))
        .split("\n")
        .filter(Boolean);

    stage("builds the image from the Dockerfile", async () => {
      const before = new Set(await dangling());
      await step(["build", "api"], 600_000);
      buildStages = (await dangling()).filter((i) => !before.has(i));
      mark("image built");
      const [image] = JSON.parse(await run("docker", ["image", "inspect", IMAGE])) as any[];
      expect(image.Config.User).toBe("node");
      expect(image.Config.Cmd).toEqual(["node", "apps/api/dist/main.js"]);
      expect(image.Config.Env).toContain("NODE_ENV=production");
    });

    stage("comes up with the demo profile: the seed registers its tokens and 50 are scored", async () => {
      await step(["up", "--detach", "--no-build"], 300_000);
      mark("up");
      await waitFor(
        "the api to reach Redis (GET /readyz answers 200)",
        async () => (await api("/readyz")).ok,
        60_000,
      );
      const seed = await waitFor(
        "the seed service to finish",
        async () => (await containers("seed")).find((c) => c.State === "exited"),
        60_000,
      );
      expect(seed.ExitCode, `seed: ${await diagnose()}`).toBe(0);
      await waitFor("50 scored tokens on /tokens", async () => (await scoredCount()) >= 50, 120_000);
      mark("50 scored");
      const health = await getJson("/health/scheduler");
      expect(health.registry.tokens).toBeGreaterThanOrEqual(SEEDED);
      // Redis is served first when the workers fill the cores (cpu_shares, as npm start's nice)
      const [redis, worker] = await inspectContainers(
        [...(await containers("redis")), ...(await containers("worker"))].map((c) => c.ID),
      );
      expect(redis?.cpuShares).toBe(4096);
      expect(worker?.cpuShares).toBe(0);
    });

    stage(`scales the workers to ${WORKERS} and sees each one in /health/system`, async () => {
      await step(["up", "--detach", "--no-build", "--no-recreate", "--scale", `worker=${WORKERS}`, "worker"]);
      const workers = await containers("worker");
      expect(workers.filter((c) => c.State === "running")).toHaveLength(WORKERS);
      const hosts = (await inspectContainers(workers.map((w) => w.ID))).map((c) => c.hostname).sort();
      await waitFor(
        `${WORKERS} workers (${hosts.join(", ")}) in /health/system`,
        async () => {
          const sys = await getJson("/health/system");
          const seen = (sys.resources.workers as Array<{ host: string }>).map((w) => w.host).sort();
          return JSON.stringify(seen) === JSON.stringify(hosts);
        },
        60_000,
      );
      mark("scaled");
    });

    stage("logs into Bull Board with the admin credentials and refuses without them", async () => {
      const anonymous = await api("/admin/queues");
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);
      const wrong = await api("/admin/queues", {
        headers: { authorization: `Basic ${Buffer.from("admin:not-the-token").toString("base64")}` },
      });
      expect(wrong.status).toBe(401);
      const page = await api("/admin/queues", { headers: { authorization: basic } });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      const board = await getJson("/admin/queues/api/queues", { authorization: basic });
      expect((board.queues as Array<{ name: string }>).map((q) => q.name).sort()).toEqual(["cold", "hot"]);
    });

    /** The batches in flight now, from Bull Board's API: job id and mints. */
    async function activeJobs(): Promise<Array<{ id: string; mints: string[] }>> {
      const jobs: Array<{ id: string; mints: string[] }> = [];
      for (const lane of ["hot", "cold"]) {
        const board = await getJson(
          `/admin/queues/api/queues?activeQueue=${lane}&status=active&page=1&jobsPerPage=100`,
          { authorization: basic },
        );
        const queue = (board.queues as any[]).find((q) => q.name === lane);
        for (const job of queue?.jobs ?? []) jobs.push({ id: `${lane}:${job.id}`, mints: job.data.mints });
      }
      return jobs;
    }

    stage("re-scores every token of a killed worker's batches", async () => {
      const failedBefore = await failedJobs();
      let orphaned: Array<{ id: string; mints: string[] }> = [];
      let killedAt = 0;
      let victim = "";
      // A worker whose heartbeat says it has batches in flight is SIGKILLed. Its batches are the
      // ones still active seconds later, when every live worker's batch of that moment is done
      // (an upstream call takes 1.2 s here); when it had none left, another one is tried.
      for (let attempt = 1; attempt <= 4 && orphaned.length === 0; attempt++) {
        const { host, before } = await waitFor(
          "a worker with a batch in flight",
          async () => {
            const sched = await getJson("/health/scheduler");
            const busy = (sched.workers as any[]).find((w) => w.lanes.hot.active + w.lanes.cold.active > 0);
            const before = busy ? await activeJobs() : [];
            return before.length > 0 ? { host: busy.host as string, before } : null;
          },
          60_000,
          200,
        );
        const states = await inspectContainers((await containers("worker")).map((c) => c.ID));
        const worker = states.find((c) => c.hostname === host && c.running);
        expect(worker, `the container of worker ${host}`).toBeDefined();
        killedAt = Date.now();
        victim = worker!.name;
        await run("docker", ["kill", "--signal", "KILL", worker!.id]);
        await sleep(8_000);
        const still = new Set((await activeJobs()).map((j) => j.id));
        orphaned = before.filter((j) => still.has(j.id));
        // The restart policy brings the killed container back; compose does if Docker did not.
        await step([
          "up",
          "--detach",
          "--no-build",
          "--no-recreate",
          "--scale",
          `worker=${WORKERS}`,
          "worker",
        ]);
      }
      expect(orphaned.length, "batches left active by a killed worker (4 tries)").toBeGreaterThan(0);
      const mints = orphaned.flatMap((j) => j.mints);
      // Its leases end (LEASE_MS, 30 s) or BullMQ finds its jobs stalled; another worker scores them.
      await waitFor(
        `the ${mints.length} tokens of the ${orphaned.length} batches of ${victim} (SIGKILLed) to be scored again`,
        async () => {
          const tokens = await allTokens();
          const missing = mints.filter((m) => !((tokens.get(m) ?? 0) > killedAt));
          if (missing.length > 0) throw new Error(`${missing.length} not re-scored yet, e.g. ${missing[0]}`);
          return true;
        },
        150_000,
        2_000,
      );
      mark(`${victim}'s ${mints.length} tokens re-scored`);
      expect(await failedJobs(), "jobs failed for good").toBe(failedBefore);
      await waitFor(
        `${WORKERS} workers in /health/system again`,
        async () => (await getJson("/health/system")).resources.workers.length === WORKERS,
        60_000,
      );
    });

    async function failedJobs(): Promise<number> {
      const board = await getJson("/admin/queues/api/queues", { authorization: basic });
      return (board.queues as any[]).reduce((n, q) => n + Number(q.counts.failed ?? 0), 0);
    }

    stage("loses no token when the redis container restarts, and scores them all again", async () => {
      const before = await allTokens();
      const scoredBefore = [...before].filter(([, at]) => at !== null).map(([m]) => m);
      expect(before.size).toBeGreaterThanOrEqual(SEEDED);
      const restartedAt = Date.now();
      await step(["restart", "redis"]);
      await waitFor(
        "the api ready again after the Redis restart",
        async () => (await api("/readyz")).status === 200,
        60_000,
      );
      const after = await waitFor("the registry readable again", () => allTokens(), 30_000);
      const lost = [...before.keys()].filter((m) => !after.has(m));
      expect(lost, "tokens lost by the Redis restart").toEqual([]);
      await waitFor(
        `the ${scoredBefore.length} scored tokens scored again after the Redis restart`,
        async () => {
          const now = await allTokens();
          const stale = scoredBefore.filter((m) => !((now.get(m) ?? 0) > restartedAt));
          if (stale.length > 0) throw new Error(`${stale.length} not scored since, e.g. ${stale[0]}`);
          return true;
        },
        120_000,
        2_000,
      );
      mark("redis restarted, all re-scored");
    });

    stage("discovers tokens from the simulator's migration stream", async () => {
      const view = await waitFor(
        "discovery connected to ws://simulator:8001/api/data with registered migrations",
        async () => {
          const d = (await getJson("/health/scheduler")).discovery;
          return d.state === "connected" && d.registered > 0 ? d : null;
        },
        90_000,
      );
      expect(view.url).toBe("ws://simulator:8001/api/data");
      const registry = (await getJson("/health/scheduler")).registry.tokens;
      expect(registry, "seeded plus discovered tokens").toBeGreaterThan(SEEDED);
    });

    stage(
      "serves the NotArb export: a token's pool addresses per group, with an ETag that answers 304",
      async () => {
        const path = "/exports/notarb/markets.json";
        const { groups, etag } = await waitFor(
          "a NotArb export with at least one token (GET /exports/notarb/markets.json)",
          async () => {
            const res = await api(path);
            if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
            expect(res.headers.get("content-type")).toMatch(/application\/json/);
            const body: unknown = await res.json();
            expect(Array.isArray(body)).toBe(true);
            return (body as unknown[]).length > 0
              ? { groups: body as unknown[][], etag: res.headers.get("etag") }
              : null;
          },
          120_000,
          2_000,
        );
        for (const group of groups) {
          expect(Array.isArray(group)).toBe(true);
          expect(group.length, "pools per token (a route needs 2)").toBeGreaterThanOrEqual(2);
          for (const pool of group) expect(pool).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
        }
        expect(etag).toBeTruthy();
        const again = await api(path, { headers: { "if-none-match": etag! } });
        // 304 unless the leader published a new version in between; then the new one is served.
        expect([200, 304]).toContain(again.status);
        if (again.status === 200) expect(again.headers.get("etag")).not.toBe(etag);
        mark("NotArb export served");
      },
    );

    it("stops: every container exits 0 within its grace period", async () => {
      const ids = (await containers()).map((c) => c.ID);
      const stopAt = Date.now();
      await step(["stop"], 120_000);
      mark("stopped");
      const states = await inspectContainers(ids);
      expect(states.length).toBeGreaterThanOrEqual(APP_SERVICES.length + WORKERS - 1);
      for (const c of states) {
        expect(c.running, `${c.name} still running`).toBe(false);
        expect(c.oomKilled, `${c.name} OOM-killed`).toBe(false);
        expect(c.exitCode, `${c.name} exit code`).toBe(0);
        // The seed ran once at the start; every other container stopped within its grace period.
        if (c.finishedAt >= stopAt) {
          const graceMs = (c.stopTimeoutS ?? 10) * 1_000;
          expect(c.finishedAt - stopAt, `${c.name} stop time, ms (grace ${graceMs})`).toBeLessThan(graceMs);
        }
      }
    });

    it("removes every container, network, volume and image it made", async () => {
      await step(["down", "--volumes", "--remove-orphans"], 120_000);
      await run("docker", ["image", "rm", IMAGE, ...buildStages]);
      const label = `label=com.docker.compose.project=${PROJECT}`;
      expect(await run("docker", ["ps", "--all", "--quiet", "--filter", label])).toBe("");
      expect(await run("docker", ["network", "ls", "--quiet", "--filter", label])).toBe("");
      expect(await run("docker", ["volume", "ls", "--quiet", "--filter", label])).toBe("");
      expect((await exec("docker", ["image", "inspect", IMAGE])).code).not.toBe(0);
      mark("removed");
    });
  },
);
