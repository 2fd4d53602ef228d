import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// A wrong REDIS_URL, or a Redis that is not up yet, used to leave every app silent (the compose
// test saw "healthy" containers that never reached Redis). Each app now says it, once, names the
// Redis it tried without its password, and says when Redis is back.

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

const lines = (p: AppProcess) =>
  p
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("an app whose Redis cannot be reached", () => {
  it("logs redis_unavailable once with the Redis it tried (no password), then redis reachable again", async () => {
    const port = await freePort();
    const url = `redis://:hunter2-secret@127.0.0.1:${port}/0`;
    const producer = runApp("producer", {
      REDIS_URL: url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      LOG_LEVEL: "info",
    });
    cleanup.push(() => stopApp(producer, 2_000));

    const down = await waitUntil(
      "a redis_unavailable line",
      () => {
        const l = lines(producer).filter((x) => x.event === "redis_unavailable" && !x.recovered);
        return l.length > 0 ? l : null;
      },
      15_000,
      100,
    );
    expect(down[0]).toMatchObject({ level: "warn", redis: `redis://:redacted@127.0.0.1:${port}/0` });
    expect(String(down[0]!.err)).toMatch(/ECONNREFUSED/);
    // ioredis retries every 100 ms to 2 s: seconds of retries stay one line per connection.
    await new Promise((r) => setTimeout(r, 3_000));
    const connections = new Set(down.map((x) => x.connection));
    const after = lines(producer).filter((x) => x.event === "redis_unavailable" && !x.recovered);
    expect(after.length).toBe(connections.size);
    expect(producer.output()).not.toContain("hunter2-secret");

    // Redis comes up, with the password the URL carries.
    const server = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--requirepass",
        "hunter2-secret",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    );
    cleanup.push(() => Promise.resolve(server.kill("SIGKILL")));
    await waitUntil(
      "redis reachable again",
      () => lines(producer).some((x) => x.event === "redis_unavailable" && x.recovered === true),
      15_000,
      100,
    );
  });
});
