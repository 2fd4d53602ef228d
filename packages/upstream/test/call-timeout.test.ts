import { describe, expect, it } from "vitest";
import { callTimeoutMs } from "../src/index.js";

describe("callTimeoutMs", () => {
  const began = 1_500;
  const raised = 3_000;
  const at = 1_000_000;

  it("follows the lane's timeout for a call without a deadline, raised or lowered", () => {
    expect(callTimeoutMs(began, raised, undefined, at)).toBe(raised);
    expect(callTimeoutMs(began, 900, undefined, at)).toBe(900);
  });

  it("follows a raise all the way for a call whose deadline lies beyond it", () => {
    expect(callTimeoutMs(began, raised, at + 60_000, at)).toBe(raised);
  });

  it("carries a call no further than its deadline", () => {
    expect(callTimeoutMs(began, raised, at + 2_000, at)).toBe(2_000);
  });

  it("keeps the timeout a call began with when its deadline is nearer or already past", () => {
    expect(callTimeoutMs(began, raised, at + 1_000, at)).toBe(began);
    expect(callTimeoutMs(began, raised, at, at)).toBe(began);
    expect(callTimeoutMs(began, raised, at - 60_000, at)).toBe(began);
  });

  it("follows a lowered lane timeout whatever the deadline", () => {
    expect(callTimeoutMs(began, 900, at + 60_000, at)).toBe(900);
    expect(callTimeoutMs(began, 900, at - 60_000, at)).toBe(900);
  });
});
