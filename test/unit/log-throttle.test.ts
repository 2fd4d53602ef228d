import { describe, expect, it } from "vitest";
import { LogThrottle } from "@moonfleet/telemetry";

describe("LogThrottle", () => {
  it("lets one line per key through per interval and counts the rest", () => {
    let t = 0;
    const th = new LogThrottle<string>(10_000, () => t);
    expect(th.admit("oom", "a")).toBe(0);
    for (let i = 0; i < 1_666; i++) expect(th.admit("oom", `b${i}`)).toBeNull();
    expect(th.admit("other", "c")).toBe(0);
    t = 9_999;
    expect(th.drain()).toEqual([]);
    t = 10_000;
    expect(th.drain()).toEqual([{ key: "oom", held: 1_666, last: "b1665" }]);
    expect(th.admit("oom", "d")).toBe(0);
    t = 20_000;
    th.admit("oom", "e");
    expect(th.admit("oom", "f")).toBeNull();
    t = 30_000;
    expect(th.admit("oom", "g")).toBe(1);
  });
});
