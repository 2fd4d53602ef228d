import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { getPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { redisUrl, startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";

// Issue 17: the launcher stops everything it started on every exit path (SIGINT, SIGTERM, SIGHUP,
// a closed stdout, even SIGKILL of the launcher itself), and refuses a taken API_PORT at once.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PID_FILE = `${ROOT}.moonfleet/redis.pid`;
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
  } catch {
    return false;
  }
};

/** The processes whose parent is `pid`, read from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const ppid = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
        return ppid === pid ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
}

interface Launched {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

async function launch(env: Record<string, string>): Promise<Launched> {
  const child = spawn(process.execPath, [`${ROOT}apps/launcher/dist/main.js`], {
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      API_HOST: "127.0.0.1",
      API_PORT: String(await freePort()),
      WORKER_PROCESSES: "1",
      DEMO_TOKENS: "0",
      SHUTDOWN_TIMEOUT_MS: "1000",
      DISCOVERY_URL: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, output: () => out, exited };
}

/** npm start with its own redis-server: every process it started, once it is running. */
async function launchWithPrivateRedis(): Promise<Launched & { pids: number[]; redisPid: number }> {
  const { sim, url } = await startSimulator();
  cleanup.push(() => sim.close());
  const l = await launch({ UPSTREAM_URL: url });
  await waitUntil("the fleet to be running", () => l.output().includes("press Ctrl-C to stop"), 60_000, 200);
  const redisPid = Number(readFileSync(PID_FILE, "utf8"));
  const pids = childrenOf(l.child.pid!);
  // redis-server, its watchdog, the api, the producer and one worker.
  expect(pids.length).toBeGreaterThanOrEqual(5);
  expect(pids).toContain(redisPid);
  // at REDIS_SERVER_NICE's default where the OS allows it (root here; else its own priority)
  expect(getPriority(redisPid)).toBe(process.getuid?.() === 0 ? -10 : getPriority());
  cleanup.push(() =>
    Promise.resolve([...pids, redisPid].forEach((p) => alive(p) && process.kill(p, "SIGKILL"))),
  );
  return { ...l, pids, redisPid };
}

async function expectAllGone(pids: readonly number[], within = 15_000): Promise<void> {
  await waitUntil(
    `every process of the run to end (${pids.join(", ")})`,
    () => pids.every((p) => !alive(p)),
    within,
    100,
  ).catch((err: unknown) => {
    // which ones outlived it, and what they are
    const left = pids.filter(alive).map((p) => {
      const cmd = (() => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim();
        } catch {
          return "?";
        }
      })();
      return `${p} ${cmd}`;
    });
    throw new Error(`${(err as Error).message}; still running: ${left.join("; ")}`);
  });
}

describe("npm start stops everything it started", () => {
  it.each(["SIGHUP", "SIGTERM", "SIGINT"] as const)(
    "on %s",
    async (signal) => {
      const run = await launchWithPrivateRedis();
      run.child.kill(signal);
      expect(await run.exited).toBe(0);
      await expectAllGone([...run.pids, run.redisPid]);
    },
    120_000,
  );

  it("when its stdout is closed and Ctrl-C follows (npm start | tee log)", async () => {
    const run = await launchWithPrivateRedis();
    run.child.stdout?.destroy();
    run.child.stderr?.destroy();
    run.child.kill("SIGINT");
    await run.exited;
    await expectAllGone([...run.pids, run.redisPid]);
  }, 120_000);

  it("even when the launcher itself is SIGKILLed: children and redis-server follow it", async () => {
    const run = await launchWithPrivateRedis();
    run.child.kill("SIGKILL");
    await run.exited;
    await expectAllGone([...run.pids, run.redisPid], 20_000);
    expect(existsSync(PID_FILE)).toBe(true);
  }, 120_000);
});

describe("npm start with API_PORT taken", () => {
  it("says so in one line and exits 1 without starting anything", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as { port: number }).port;
    const started = Date.now();
    const l = await launch({
      API_PORT: String(port),
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: uniquePrefix(),
    });
    const kids: number[] = [];
    const watch = setInterval(() => kids.push(...childrenOf(l.child.pid!)), 20);
    expect(await l.exited).toBe(1);
    clearInterval(watch);
    const elapsed = Date.now() - started;
    const lines = l.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`API_PORT ${port} is already in use.*API_PORT=\\d+ npm start`));
    expect(kids).toEqual([]);
    // Generous: the check itself takes milliseconds; the issue asks for an answer within 2 s.
    expect(elapsed).toBeLessThan(10_000);
  }, 30_000);
});
