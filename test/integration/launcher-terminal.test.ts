import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { redisUrl, startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";

// Issue 17: npm start in a real pseudo-terminal (util-linux `script`): the banner stays visible,
// then one summary line every 10 s, and no JSON lines.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

describe("npm start in a terminal", () => {
  it("shows the banner, then a summary line every 10 s, and no JSON", async () => {
    const { sim, url } = await startSimulator();
    cleanup.push(() => sim.close());
    const child = spawn(
      "script",
      ["-qfec", `${process.execPath} ${ROOT}apps/launcher/dist/main.js`, "/dev/null"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          TERM: "xterm",
          LOG_LEVEL: "info",
          REDIS_URL: redisUrl(),
          REDIS_KEY_PREFIX: uniquePrefix(),
          UPSTREAM_URL: url,
          API_HOST: "127.0.0.1",
          API_PORT: String(await freePort()),
          WORKER_PROCESSES: "1",
          DEMO_TOKENS: "50",
          DISCOVERY_URL: "off",
          SHUTDOWN_TIMEOUT_MS: "1000",
        },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    });
    const summary =
      /^moonfleet: \d\d:\d\d:\d\d \w+\s+\| hot [\d.]+ tok\/s, p95 [\d-]+\/15 s \| cold .* \| budget .* \| 1 workers \| load \w+/;
    await waitUntil(
      "two summary lines",
      () => out.split(/\r?\n/).filter((l) => summary.test(l)).length >= 2,
      60_000,
      250,
    );
    child.kill("SIGTERM");
    await exited;
    const lines = out.split(/\r?\n/).filter((l) => l.trim() !== "");
    const banner = lines.findIndex((l) => l.includes("the fleet is running:"));
    expect(banner).toBeGreaterThanOrEqual(0);
    expect(lines.some((l) => l.includes("dashboard") && l.includes("http://127.0.0.1:"))).toBe(true);
    // Nothing but the launcher's own lines: no JSON log line reached the terminal.
    expect(lines.filter((l) => l.trimStart().startsWith("{"))).toEqual([]);
    expect(lines.filter((l) => !l.startsWith("moonfleet: "))).toEqual([]);
    // The summaries come after the banner, one per 10 s (two within the wait, not a flood).
    const summaries = lines.map((l, i) => (summary.test(l) ? i : -1)).filter((i) => i >= 0);
    expect(summaries[0]).toBeGreaterThan(banner);
    expect(summaries.length).toBeLessThanOrEqual(4);
  }, 90_000);
});
