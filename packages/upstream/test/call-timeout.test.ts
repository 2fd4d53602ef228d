import { describe, expect, it } from "vitest";
import { callTimeoutMs } from "../src/index.js";

describe("callTimeoutMs", () => {
  const began = 1_500;
  const raised = 3_000;
  const at = 1_000_000;

  it("follows the lane's timeout for a call without a deadline", () => {
    expect(callTimeoutMs(began, raised, undefined, at)).toBe(raised);
    expect(callTimeoutMs(began, 900, undefined, at)).toBe(900);
  });

  it("follows the lane's timeout for a call whose tokens still have time before their latest start", () => {
    expect(callTimeoutMs(began, raised, at + 1, at)).toBe(raised);
  });

  it("keeps the timeout a call began with once its tokens are past their latest start", () => {
    expect(callTimeoutMs(began, raised, at, at)).toBe(began);
    expect(callTimeoutMs(began, raised, at - 60_000, at)).toBe(began);
  });
});
