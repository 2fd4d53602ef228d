import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { testHeartbeat, testLaneState } from "../../../test/support/heartbeat.js";
import {
  CONNECTION_NAME_PREFIX,
  KEY_SEGMENTS,
  LANES,
  LANE_STATUS,
  TOKEN_STATUSES,
  clientNames,
  heartbeatTtlMs,
  laneOf,
  luaKey,
  parseHeartbeat,
  redisKeys,
  workerConnectionName,
} from "../src/index.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === "node_modules" || name === "dist" || name === "test") return [];
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

describe("the domain's words are declared once", () => {
  const files = ["apps", "packages"].flatMap((d) => sources(join(ROOT, d)));
  const outside = files.filter((f) => !f.includes(`${join("packages", "domain")}/`));

  it.each([
    ["the lane union", /"hot"\s*\|\s*"cold"|"cold"\s*\|\s*"hot"|\[\s*"hot",\s*"cold"\s*\]/],
    ["the mints per call", /\b(?:const|let)\s+\w+\s*=\s*30;/],
    ["a key built outside the key table", /\$\{keyRoot\(|\{\$\{prefix\}\}:/],
    ["the status union", /"monitoring"\s*\|\s*"active"|\[\s*"monitoring",\s*"active",\s*"archived"\s*\]/],
    ["the load levels", /"normal"\s*\|\s*"reduced"\s*\|\s*"high"/],
    ["the breaker states", /"closed"\s*\|\s*"open"\s*\|\s*"half_open"/],
  ])("%s lives only in packages/domain", (_what, pattern) => {
    expect(files.length).toBeGreaterThan(50);
    const offenders = outside.filter((f) => pattern.test(readFileSync(f, "utf8")));
    expect(offenders.map((f) => f.slice(ROOT.length))).toEqual([]);
  });
});

describe("lanes and statuses", () => {
  it("maps each status to its lane and back", () => {
    for (const lane of LANES) expect(laneOf(LANE_STATUS[lane])).toBe(lane);
    expect(TOKEN_STATUSES.map(laneOf)).toEqual(["cold", "hot", null]);
  });
});

describe("the key layout", () => {
  const k = redisKeys("mf");

  it("keeps every key under the one hash tag", () => {
    const all = [
      k.token("M"),
      k.snapshot("M"),
      k.history("M"),
      k.registry,
      k.due("hot"),
      k.byScore("all"),
      k.byUpdated("active"),
      k.workers,
      k.worker("w"),
      k.workerMetrics("w"),
      k.producerLeader,
      k.batchSizer("cold"),
      k.budget("default"),
      k.configOverrides,
      k.configVersion,
      k.configChannel,
      k.queues,
    ];
    for (const key of all) expect(key.startsWith("{mf}:")).toBe(true);
    expect(new Set(all).size).toBe(all.length);
  });

  it("builds the same keys in Lua as in TypeScript", () => {
    // A Lua concatenation `a .. 'b' .. c` evaluated by hand for string literals.
    const evalLua = (expr: string, vars: Record<string, string>) =>
      expr
        .split(" .. ")
        .map((part) => (part.startsWith("'") ? part.slice(1, -1) : vars[part]!))
        .join("");
    const vars = { root: k.root, mint: "M", lane: "hot", status: "active" };
    expect(evalLua(luaKey("token", "root", "mint"), vars)).toBe(k.token("M"));
    expect(evalLua(luaKey("snapshot", "root", "mint"), vars)).toBe(k.snapshot("M"));
    expect(evalLua(luaKey("history", "root", "mint"), vars)).toBe(k.history("M"));
    expect(evalLua(luaKey("due", "root", "lane"), vars)).toBe(k.due("hot"));
    expect(evalLua(luaKey("byScore", "root", "status"), vars)).toBe(k.byScore("active"));
    expect(evalLua(luaKey("byUpdated", "root", "status"), vars)).toBe(k.byUpdated("active"));
    expect(Object.values(KEY_SEGMENTS).every((s) => !s.includes("'"))).toBe(true);
  });
});

describe("the heartbeat", () => {
  const lane = testLaneState({
    active: 1,
    reason: "grow",
    changedAt: 1,
    timeoutMs: 3000,
    timeoutReason: "p95",
    jobs: 1,
    tokens: 30,
    calls: 1,
    tokensPerSecond: 1.5,
    recentCalls: 1,
    latencyP50Ms: 120,
  });
  const hb = testHeartbeat({
    pid: 7,
    startedAt: 1,
    at: 2,
    lanes: { hot: lane, cold: lane },
    breaker: "closed",
  });

  it("round-trips through JSON", () => {
    expect(parseHeartbeat(JSON.stringify(hb))).toEqual(hb);
  });

  it("refuses a heartbeat that does not hold its shape instead of trusting it", () => {
    expect(parseHeartbeat("{not json")).toBeNull();
    expect(parseHeartbeat(JSON.stringify({ ...hb, level: "panic" }))).toBeNull();
    expect(parseHeartbeat(JSON.stringify({ ...hb, lanes: { hot: lane } }))).toBeNull();
    expect(parseHeartbeat(JSON.stringify({ ...hb, breaker: "ajar" }))).toBeNull();
  });

  it("outlives a few missed controller ticks, never less than 5 s", () => {
    expect(heartbeatTtlMs(1_000)).toBe(5_000);
    expect(heartbeatTtlMs(2_000)).toBe(10_000);
  });
});

describe("clientNames", () => {
  it("reads each connection's name from a CLIENT LIST answer, skipping the unnamed", () => {
    const line = (id: number, name: string) =>
      `id=${id} addr=127.0.0.1:${50000 + id} laddr=127.0.0.1:6379 fd=${id} name=${name} age=4 idle=0 flags=N db=0 cmd=evalsha user=default resp=2`;
    const worker = `${CONNECTION_NAME_PREFIX}${workerConnectionName("host-12-ab12cd34")}`;
    const list = [
      line(1, worker),
      line(2, `${CONNECTION_NAME_PREFIX}worker-queue`),
      line(3, ""),
      line(4, "{mf}:q:aG90:w:host-12-ab12cd34"),
      `id=5 addr=127.0.0.1:5 name=last`,
      "",
    ].join("\r\n");
    expect(clientNames(list)).toEqual(
      new Set([worker, `${CONNECTION_NAME_PREFIX}worker-queue`, "{mf}:q:aG90:w:host-12-ab12cd34", "last"]),
    );
    expect(clientNames("")).toEqual(new Set());
  });
});
