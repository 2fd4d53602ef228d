import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase58, isMint, mintSchema } from "../src/index.js";
import { MINT, WSOL } from "./fixtures.js";

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** A reference encoder by BigInt arithmetic, written differently from the decoder under test. */
function encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = "";
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out;
    n /= 58n;
  }
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  return "1".repeat(zeros) + out;
}

/** The largest 32-byte key, 0xff repeated: 44 characters. */
const MAX_KEY = encode(new Uint8Array(32).fill(0xff));

describe("mint validation", () => {
  it("accepts base58 addresses of 32 to 44 characters", () => {
    expect(isMint(MINT)).toBe(true);
    expect(isMint(WSOL)).toBe(true);
    expect(isMint("1".repeat(32))).toBe(true);
    expect(MAX_KEY).toHaveLength(44);
    expect(isMint(MAX_KEY)).toBe(true);
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

describe("a mint decodes to exactly 32 bytes (a Solana public key)", () => {
  it.each([
    // 44 characters of "z" is above 2^256: 33 bytes (the old check took it).
    ["z".repeat(44), 33],
    // The issue's examples: base58 of 23, 31 and 33 bytes that the character check let through.
    [encode(new Uint8Array(31).fill(0xff)), 31],
    [encode(new Uint8Array(33).fill(0x01)), 33],
    [encode(new Uint8Array(23).fill(0xff)), 23],
  ])("refuses %s, %i bytes, naming the decoded length", (text, bytes) => {
    expect(text.length).toBeGreaterThanOrEqual(32);
    expect(text.length).toBeLessThanOrEqual(44);
    expect(decodeBase58(text)).toHaveLength(bytes);
    const result = mintSchema.safeParse(text);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join(" ")).toContain(`${bytes} bytes`);
  });

  it("accepts every 32-byte key, encoded (leading zero bytes included)", () => {
    const key = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      // Leading zeros become leading "1"s: the shortest encodings.
      fc
        .tuple(fc.integer({ min: 1, max: 31 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
        .map(([zeros, b]) => b.fill(0, 0, zeros)),
    );
    fc.assert(
      fc.property(key, (bytes) => {
        const text = encode(bytes);
        expect(isMint(text), text).toBe(true);
        expect(decodeBase58(text)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses base58 strings of 32 to 44 characters that decode to any other length", () => {
    const text = fc.string({ unit: fc.constantFrom(...BASE58), minLength: 32, maxLength: 44 });
    let refused = 0;
    fc.assert(
      fc.property(text, (t) => {
        const decoded = decodeBase58(t);
        expect(decoded).not.toBeNull();
        // The decoder agrees with the reference encoder: decoding then encoding gives the text back.
        expect(encode(decoded!)).toBe(t);
        expect(isMint(t), t).toBe(decoded!.length === 32);
        if (decoded!.length !== 32) refused++;
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(0);
  });

  it("refuses encoded keys of every other length from 1 to 64 bytes", () => {
    const other = fc
      .integer({ min: 1, max: 64 })
      .filter((n) => n !== 32)
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
    fc.assert(
      fc.property(other, (bytes) => {
        expect(isMint(encode(bytes))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("decodes nothing from a character outside the alphabet", () => {
    for (const bad of ["0", "O", "I", "l", "+", "é"]) expect(decodeBase58(`abc${bad}def`)).toBeNull();
    expect(decodeBase58("")).toEqual(new Uint8Array(0));
  });
});
