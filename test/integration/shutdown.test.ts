import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { redisKeys } from "@moonfleet/domain";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, type BatchJob, type Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { demoMints, type Simulator } from "../../apps/simulator/src/index.js";
import {
  redisUrl,
  runTestProducer,
  startSimulator,
  testRedis,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// Graceful stop of the real processes (apps/*/dist/main.js): a worker stopped mid-batch drains for
// SHUTDOWN_TIMEOUT_MS, aborts its upstream calls, returns their tokens to the schedule at once and
// exits 0; a second signal exits at once; the producer hands back its lead.

const DRAIN_MS = 1_000;
/** onShutdown (packages/runtime/src/shutdown.ts) exits by itself this long after the drain time. */
const EXIT_MARGIN_MS = 2_000;
/** The upstream answers this slowly, so a batch is surely in flight when the signal lands. */
const UPSTREAM_LATENCY_MS = 3_000;
/** Long: a token that comes back sooner came back because the stopping worker returned it. */
const LEASE_MS = 60_000;

const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

function fleetEnv(prefix: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    PRODUCER_TICK_MS: "100",
    LEASE_MS: String(LEASE_MS),
    DUE_MARGIN_MS: "0",
    // Long fixed timeouts: the slow calls are cut by the shutdown, not by a timeout.
    ENABLE_DYNAMIC_TIMEOUTS: "false",
    TIMEOUT_HOT: "10",
    TIMEOUT_COLD: "10",
    SHUTDOWN_TIMEOUT_MS: String(DRAIN_MS),
  };
}

/** A simulator, an in-process producer and `count` registered tokens under a fresh prefix. */
async function slowFleet(count: number) {
  const prefix = uniquePrefix();
  const env = fleetEnv(prefix);
  const { sim, url } = await startSimulator({ latencyMs: UPSTREAM_LATENCY_MS });
  cleanup.push(() => sim.close());
  const { stop: stopProducer } = runTestProducer(env);
  cleanup.push(stopProducer);
  const queue = new Queue<BatchJob>("cold", { connection: redis, prefix: bullPrefix(prefix) });
  cleanup.push(() => queue.close());
  const store = new TokenStore(redis, prefix);
  const mints = demoMints(count, `shutdown-${prefix}`);
  await store.register(
    mints.map((mint) => ({ mint })),
    Date.now(),
  );
  return { prefix, env: { ...env, UPSTREAM_URL: url }, sim, queue, store };
}

function worker(env: Record<string, string>): AppProcess {
  const p = runApp("worker", env);
  cleanup.push(() => stopApp(p, 2_000));
  return p;
}

/** Waits for a cold batch whose upstream call is on its way, and returns its mints. */
async function batchInFlight(queue: Queue<BatchJob>, sim: Simulator): Promise<string[]> {
  const active = await waitUntil(
    "a batch in flight",
    async () => {
      const jobs = await queue.getActive();
      return jobs.length > 0 && sim.stats().requests > 0 ? jobs : null;
    },
    20_000,
    50,
  );
  return active.flatMap((j) => j.data.mints);
}

const dueAt = async (r: Redis, prefix: string, mints: readonly string[]) =>
  (await r.zmscore(redisKeys(prefix).due("cold"), ...mints)).map(Number);

describe("a worker stopped with SIGTERM in the middle of slow batches", () => {
  it("exits 0 within the drain deadline, and every token of its batches is scored by another worker", async () => {
    const { prefix, env, sim, queue, store } = await slowFleet(60);
    const victim = worker(env);
    const batch = await batchInFlight(queue, sim);
    expect((await store.load(batch)).every((x) => x?.snapshot === null)).toBe(true);

    victim.child.kill("SIGTERM");
    const signalledAt = Date.now();
    const { code, signal } = await victim.exited;
    const tookMs = Date.now() - signalledAt;
    expect({ code, signal }, victim.output()).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(DRAIN_MS + EXIT_MARGIN_MS);

    // The aborted batches completed: nothing is left active for the stall checker, and their
    // tokens are due again now instead of at the end of their lease. The producer (ticking every
    // 100 ms) may have claimed one again already: then it is due a lease after that claim, past
    // signalledAt + LEASE_MS, where a token never returned (claimed before the signal) cannot be.
    expect(await queue.getActiveCount()).toBe(0);
    for (const due of await dueAt(redis, prefix, batch))
      expect(
        due < signalledAt + LEASE_MS / 2 || due >= signalledAt + LEASE_MS,
        `due ${due - signalledAt} ms after the signal`,
      ).toBe(true);

    const survivor = worker(env);
    await waitUntil(
      "every token of the stopped batches scored by the other worker",
      async () => (await store.load(batch)).every((x) => (x?.snapshot?.fetchedAt ?? 0) > signalledAt),
      LEASE_MS / 2,
      200,
    );
    await stopApp(survivor);
    expect(survivor.child.exitCode).toBe(0);
  });

  it("exits at once on a second signal, without waiting for the drain", async () => {
    const { env, sim, queue } = await slowFleet(30);
    // A long drain: the first signal alone would wait for the slow call to answer.
    const victim = worker({ ...env, SHUTDOWN_TIMEOUT_MS: "30000", LOG_LEVEL: "info" });
    await batchInFlight(queue, sim);

    victim.child.kill("SIGTERM");
    await waitUntil(
      "the graceful stop to begin",
      () => victim.output().includes('"msg":"stopping"'),
      5_000,
      20,
    );
    const secondAt = Date.now();
    victim.child.kill("SIGTERM");
    const { code, signal } = await victim.exited;
    expect(signal).toBeNull();
    expect(code).not.toBe(0);
    expect(Date.now() - secondAt).toBeLessThan(UPSTREAM_LATENCY_MS / 2);
    expect(victim.output()).toContain("second signal");
  });
});

/** A live process, not a zombie awaiting its reaper. */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
  } catch {
    return false;
  }
}

describe("a worker whose parent dies while a slow batch is in flight", () => {
  it("exits by itself within its drain deadline and returns the batch's tokens to the schedule", async () => {
    const { prefix, env, sim, queue } = await slowFleet(30);
    // The launcher's place: a parent holding the worker on an IPC channel, as npm start does.
    const workerMain = fileURLToPath(new URL("../../apps/worker/dist/main.js", import.meta.url));
    const parent = spawn(
      process.execPath,
      [
        "-e",
        `const w = require("node:child_process").fork(process.argv[1], [], {
           env: JSON.parse(process.argv[2]), stdio: ["ignore", "ignore", "ignore", "ipc"] });
         console.log(w.pid); setInterval(() => {}, 1000);`,
        workerMain,
        JSON.stringify({ PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env }),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const [line] = await once(parent.stdout, "data");
    const pid = Number(String(line).trim());
    cleanup.push(() => {
      if (alive(pid)) process.kill(pid, "SIGKILL");
      return Promise.resolve(parent.kill("SIGKILL"));
    });
    expect(pid).toBeGreaterThan(0);
    const batch = await batchInFlight(queue, sim);

    parent.kill("SIGKILL");
    const killedAt = Date.now();
    await waitUntil("the orphaned worker to exit", () => !alive(pid), DRAIN_MS + EXIT_MARGIN_MS + 5_000, 50);
    expect(Date.now() - killedAt).toBeLessThan(DRAIN_MS + EXIT_MARGIN_MS);
    // It stopped as on SIGTERM: the in-flight batch's tokens are due again, not held for their lease.
    // As above, the producer may have claimed a returned token again (due a lease after that claim,
    // past killedAt + LEASE_MS); a token never returned (claimed before the kill) is due in between.
    for (const due of await dueAt(redis, prefix, batch))
      expect(
        due < killedAt + LEASE_MS / 2 || due >= killedAt + LEASE_MS,
        `due ${due - killedAt} ms after the kill`,
      ).toBe(true);
  });
});

describe("the producer stopped with SIGTERM", () => {
  it("exits 0 and releases its lead at once", async () => {
    const prefix = uniquePrefix();
    const leaderKey = `{${prefix}}:producer:leader`;
    const producer = runApp("producer", fleetEnv(prefix));
    cleanup.push(() => stopApp(producer, 2_000));
    await waitUntil("the producer to lead", async () => (await redis.exists(leaderKey)) === 1, 20_000, 50);
    producer.child.kill("SIGTERM");
    const { code } = await producer.exited;
    expect(code, producer.output()).toBe(0);
    expect(await redis.exists(leaderKey)).toBe(0); // not left to expire
  });
});

describe("the api stopped with SIGTERM", () => {
  it("exits 0", async () => {
    const port = await freePort();
    const api = runApp("api", { ...fleetEnv(uniquePrefix()), API_PORT: String(port), API_HOST: "127.0.0.1" });
    cleanup.push(() => stopApp(api, 2_000));
    await waitUntil("the api to be ready", async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok);
    api.child.kill("SIGTERM");
    const { code } = await api.exited;
    expect(code, api.output()).toBe(0);
  });
});
