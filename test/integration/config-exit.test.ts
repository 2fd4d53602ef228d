import { afterEach, describe, expect, it } from "vitest";
import { redisUrl } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// A process with a bad setting must stop before it touches Redis or the upstream, and tell the
// operator what is wrong in one line per setting, not in a stack trace.
const started: AppProcess[] = [];

afterEach(async () => {
  // Only matters when a test fails because the app did not exit: never leave it running.
  await Promise.all(started.splice(0).map((p) => stopApp(p, 2_000)));
});

async function exitOf(app: "worker" | "api", env: Record<string, string>) {
  const p = runApp(app, { REDIS_URL: redisUrl(), ...env });
  started.push(p);
  const { code, signal } = await p.exited;
  const lines = p
    .output()
    .split("\n")
    .filter((l) => l.trim() !== "");
  return { code, signal, lines, output: p.output() };
}

const noStackTrace = (output: string) => {
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toMatch(/ConfigError|node:internal|\.js:\d+/);
};

describe.each(["worker", "api"] as const)("%s with bad settings", (app) => {
  it("exits 1 with one readable line naming the bad setting", async () => {
    const r = await exitOf(app, { MAX_CONCURRENT_HOT: "abc" });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(app);
    expect(r.lines[0]).toContain("MAX_CONCURRENT_HOT");
    expect(r.lines[0]).toContain("abc");
    expect(r.lines[0]).toContain("expected a number");
    noStackTrace(r.output);
  });

  it("gives one line per bad setting", async () => {
    const r = await exitOf(app, { MAX_CONCURRENT_HOT: "abc", ENABLE_PARALLEL_PROCESSING: "yes" });
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(2);
    expect(r.lines.filter((l) => l.includes("MAX_CONCURRENT_HOT"))).toHaveLength(1);
    expect(r.lines.filter((l) => l.includes("ENABLE_PARALLEL_PROCESSING"))).toHaveLength(1);
    noStackTrace(r.output);
  });

  it("reports settings that contradict each other", async () => {
    const r = await exitOf(app, { MIN_BATCH_SIZE: "500", MAX_BATCH_SIZE: "100" });
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain("MIN_BATCH_SIZE");
    expect(r.lines[0]).toContain("MAX_BATCH_SIZE");
    noStackTrace(r.output);
  });

  it("names a bad ADMIN_TOKEN without printing it", async () => {
    const r = await exitOf(app, { ADMIN_TOKEN: "tooshort-secret" });
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain("ADMIN_TOKEN");
    expect(r.output).not.toContain("tooshort-secret");
    noStackTrace(r.output);
  });
});
