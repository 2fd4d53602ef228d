import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { redisUrl, startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";

// Issue 20 item 7: `npm start` printed UPSTREAM_URL with its password (`http://upuser:...@...`).
// The launcher with an upstream URL that carries a password: the fleet comes up and nothing it
// prints (its own lines and its children's logs) shows the password.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PASSWORD = `uppw${Math.random().toString(36).slice(2, 12)}`;
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

describe("npm start with an upstream URL that carries a password", () => {
  it("prints the upstream without the password", async () => {
    const { sim, url } = await startSimulator();
    cleanup.push(() => sim.close());
    const upstream = url.replace("http://", `http://upuser:${PASSWORD}@`);
    const child = spawn(process.execPath, [`${ROOT}apps/launcher/dist/main.js`], {
      env: {
        PATH: process.env.PATH ?? "",
        LOG_LEVEL: "info",
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: uniquePrefix(),
        UPSTREAM_URL: upstream,
        API_PORT: String(await freePort()),
        API_HOST: "127.0.0.1",
        WORKER_PROCESSES: "1",
        DEMO_TOKENS: "0",
        SHUTDOWN_TIMEOUT_MS: "1000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    });
    await waitUntil("the fleet to be running", () => out.includes("press Ctrl-C to stop"), 60_000, 200);
    const upstreamLine = out.split("\n").find((l) => l.startsWith("moonfleet:   upstream"));
    expect(upstreamLine).toMatch(/upuser:redacted@127\.0\.0\.1/);
    child.kill("SIGTERM");
    await exited;
    const leaks = out.split("\n").filter((l) => l.includes(PASSWORD));
    expect(leaks).toEqual([]);
  }, 90_000);
});
