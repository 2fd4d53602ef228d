import { describe, expect, it } from "vitest";
import { BASE58_ALPHABET, demoMints, encodeBase58, isMintLike } from "../src/index.js";

describe("encodeBase58", () => {
  it("matches known vectors", () => {
    expect(encodeBase58(new TextEncoder().encode("Hello World!"))).toBe("2NEpo7TZRRrLZSi2U");
    expect(encodeBase58(new Uint8Array(32))).toBe("11111111111111111111111111111111");
    expect(encodeBase58(new Uint8Array([0, 0, 1]))).toBe("112");
    expect(encodeBase58(new Uint8Array([255, 255, 255, 255]))).toBe("7YXq9G");
    expect(encodeBase58(new Uint8Array([]))).toBe("");
  });
});

describe("demoMints", () => {
  it("gives distinct, valid Solana-like mints", () => {
    const mints = demoMints(2_000);
    expect(mints).toHaveLength(2_000);
    expect(new Set(mints).size).toBe(2_000);
    for (const mint of mints) {
      expect(mint.length).toBeGreaterThanOrEqual(43);
      expect(mint.length).toBeLessThanOrEqual(44);
      expect([...mint].every((c) => BASE58_ALPHABET.includes(c))).toBe(true);
      expect(mint).not.toMatch(/[0OIl]/);
      expect(isMintLike(mint)).toBe(true);
    }
  });

  it("is deterministic per seed and a stream (shorter lists are prefixes)", () => {
    expect(demoMints(50)).toEqual(demoMints(50));
    expect(demoMints(200).slice(0, 50)).toEqual(demoMints(50));
    expect(demoMints(50, "other")).not.toEqual(demoMints(50));
    expect(demoMints(50, "other")).toEqual(demoMints(50, "other"));
  });
});
