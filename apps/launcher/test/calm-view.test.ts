import { describe, expect, it } from "vitest";
import { calmLine, lineSplitter, summaryLine } from "../src/calm-view.js";

const NOW = Date.UTC(2026, 11, 1, 12, 0, 5);

describe("calmLine", () => {
  it("shows warnings and errors in words, and nothing below", () => {
    const warn = JSON.stringify({ level: 40, time: NOW, msg: "stream disconnected", reason: "no pong" });
    expect(calmLine("discovery", warn, NOW)).toBe("12:00:05 warn  discovery  stream disconnected (no pong)");
    const error = JSON.stringify({ level: 50, time: NOW, msg: "producer tick failed", err: "Error: boom" });
    expect(calmLine("producer", error, NOW)).toBe(
      "12:00:05 error producer   producer tick failed (Error: boom)",
    );
    for (const level of [10, 20, 30])
      expect(calmLine("worker-1", JSON.stringify({ level, msg: "tokens_per_second" }), NOW)).toBeNull();
  });

  it("passes text that is not a log line (a crash) through, and drops blank lines", () => {
    expect(calmLine("api", "TypeError: x is not a function", NOW)).toBe(
      "12:00:05 api        TypeError: x is not a function",
    );
    expect(calmLine("api", "   ", NOW)).toBeNull();
  });
});

describe("summaryLine", () => {
  it("gives tokens/s and staleness p95 against TTL per lane, the budget, workers and load", () => {
    const line = summaryLine(
      {
        status: "ok",
        lanes: {
          hot: { tokensPerSecond: 28.64, staleness: { p95: 8.4, ttlSeconds: 15 } },
          cold: { tokensPerSecond: 85, staleness: { p95: null, ttlSeconds: 30 } },
        },
        upstream: { budget: { usedLastMinute: 232, limitPerMinute: 240 } },
        workers: [{ level: "normal" }, { level: "reduced" }],
      },
      NOW,
    );
    expect(line).toBe(
      "12:00:05 ok       | hot 28.6 tok/s, p95 8/15 s | cold 85.0 tok/s, p95 -/30 s | budget 232/240 per min | 2 workers | load reduced",
    );
  });
});

describe("lineSplitter", () => {
  it("gives whole lines however the chunks are cut", () => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l));
    feed('{"a":');
    feed('1}\n{"b"');
    feed(":2}\nrest");
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });
});
