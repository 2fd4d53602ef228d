import { describe, expect, it } from "vitest";
import { isMint, mintSchema } from "../src/index.js";
import { MINT, WSOL } from "./fixtures.js";

describe("mint validation", () => {
  it("accepts base58 addresses of 32 to 44 characters", () => {
    expect(isMint(MINT)).toBe(true);
    expect(isMint(WSOL)).toBe(true);
    expect(isMint("1".repeat(32))).toBe(true);
    expect(isMint("z".repeat(44))).toBe(true);
  });

  it("rejects wrong lengths", () => {
    expect(isMint("1".repeat(31))).toBe(false);
    expect(isMint("1".repeat(45))).toBe(false);
    expect(isMint("")).toBe(false);
  });

  it.each(["0", "O", "I", "l", "-", " "])("rejects the non-base58 character %j", (bad) => {
    expect(isMint(bad + MINT.slice(1))).toBe(false);
  });

  it("rejects non-strings", () => {
    expect(isMint(42)).toBe(false);
    expect(isMint(null)).toBe(false);
  });

  it("explains what a mint is when parsing fails", () => {
    const result = mintSchema.safeParse("not-a-mint");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/base58 address of 32 to 44 characters/);
  });
});
