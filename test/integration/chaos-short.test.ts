import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The chaos run (bench/chaos.mjs, `npm run chaos`) in small: its own redis-server with AOF, the
// simulator, producer, api and two workers as processes; a worker SIGKILLed and replaced every 10 s
// and a 3 s simulator outage every 20 s for 55 s. The script checks its invariants all along and
// exits non-zero when one breaks; this test runs it and reads its verdict.

const root = fileURLToPath(new URL("../../", import.meta.url));
const ARGS = [
  ["--seconds", "55"],
  ["--tokens", "300"],
  ["--workers", "2"],
  ["--ttl-hot", "5"],
  ["--ttl-cold", "10"],
  ["--lease", "10"],
  ["--kill-every", "10"],
  ["--outage-every", "20"],
  ["--outage", "3"],
  ["--breaker-cooldown", "3"],
  ["--warmup", "15"],
  ["--rss-every", "5"],
  ["--rss-warmup", "20"],
].flat();

function runChaos(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bench/chaos.mjs", ...ARGS], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("a short chaos run (bench/chaos.mjs)", () => {
  it("keeps every token fresh within its bound, fails no job and leaks no memory while workers die and the upstream goes down", async () => {
    const { code, out } = await runChaos();
    const human = out
      .split("\n")
      .filter((l) => !l.startsWith("chaos-result "))
      .join("\n");
    const line = out.split("\n").find((l) => l.startsWith("chaos-result "));
    expect(line, human).toBeDefined();
    const result = JSON.parse(line!.slice("chaos-result ".length));

    expect(result.violations, human).toEqual([]);
    expect(code, human).toBe(0);
    expect(human).toContain("chaos: result PASS");
    for (const invariant of ["tokens", "staleness", "failed-jobs", "memory", "processes", "restart"])
      expect(human).toMatch(new RegExp(`invariant ${invariant} +ok`));

    // The chaos did happen: workers were killed and replaced, the upstream went down.
    expect(result.restarts.length, human).toBeGreaterThanOrEqual(4);
    expect(
      result.restarts.every((r: { readyMs: number | null }) => r.readyMs !== null),
      human,
    ).toBe(true);
    expect(result.outages.length, human).toBeGreaterThanOrEqual(2);
    expect(result.failedJobs).toBe(0);
    // Memory was judged for the long-lived processes at least.
    const judged = result.memory
      .filter((m: { judged: boolean }) => m.judged)
      .map((m: { label: string }) => m.label);
    expect(judged).toEqual(expect.arrayContaining(["api", "producer"]));
    expect(result.worstStalenessMs.hot).toBeLessThanOrEqual(result.bounds.hot.boundMs);
    expect(result.worstStalenessMs.cold).toBeLessThanOrEqual(result.bounds.cold.boundMs);
  }, 180_000);
});
