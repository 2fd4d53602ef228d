import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isMint } from "@moonfleet/scoring";
import { MAX_MESSAGE_BYTES, parseMigration } from "../src/message.js";
import { reconnectDelayMs } from "../src/backoff.js";
import { connectUrl } from "../src/stream.js";
import { encodeBase58 } from "../../simulator/src/base58.js";

const NOW = Date.UTC(2026, 11, 1, 12);
const MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr";
/** Well-formed Solana addresses: 32 random bytes, base58 (the simulator's encoder). */
const mintArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(encodeBase58).filter(isMint);

describe("parseMigration", () => {
  it("reads PumpPortal's plain migration", () => {
    const frame = JSON.stringify({ signature: "x", mint: MINT, txType: "migrate", pool: "pump-amm" });
    expect(parseMigration(frame, NOW)).toEqual({
      kind: "migration",
      mint: MINT,
      symbol: undefined,
      name: undefined,
      at: NOW,
    });
  });

  it.each(["message", "payload", "data"])("unwraps a payload in `%s`", (envelope) => {
    const frame = JSON.stringify({
      [envelope]: { token: MINT, ticker: "MOON", name: "Moon", timestamp: NOW - 5_000 },
    });
    expect(parseMigration(frame, NOW)).toEqual({
      kind: "migration",
      mint: MINT,
      symbol: "MOON",
      name: "Moon",
      at: NOW - 5_000,
    });
  });

  it("takes a string `message` as a greeting, not a payload", () => {
    expect(parseMigration(JSON.stringify({ message: "Successfully subscribed" }), NOW)).toEqual({
      kind: "dropped",
      outcome: "no_mint",
    });
  });

  it("reads timestamps in seconds or ms and ignores insane ones", () => {
    const at = (timestamp: unknown) => {
      const r = parseMigration(JSON.stringify({ mint: MINT, timestamp }), NOW);
      return r.kind === "migration" ? r.at : null;
    };
    expect(at(Math.floor(NOW / 1000) - 60)).toBe(Math.floor(NOW / 1000) * 1000 - 60_000);
    expect(at(NOW - 1)).toBe(NOW - 1);
    expect(at(9e15)).toBe(NOW);
    expect(at(1)).toBe(NOW);
    expect(at("not a time")).toBe(NOW);
  });

  it("names why a frame was dropped", () => {
    expect(parseMigration("not json {", NOW)).toEqual({ kind: "dropped", outcome: "not_json" });
    expect(parseMigration("[1,2]", NOW)).toEqual({ kind: "dropped", outcome: "no_mint" });
    expect(parseMigration(JSON.stringify({ mint: "0OIl" + MINT.slice(4) }), NOW)).toEqual({
      kind: "dropped",
      outcome: "invalid_mint",
    });
    expect(parseMigration(JSON.stringify({ mint: 42 }), NOW)).toEqual({
      kind: "dropped",
      outcome: "invalid_mint",
    });
    const huge = JSON.stringify({ mint: MINT, pad: "x".repeat(MAX_MESSAGE_BYTES) });
    expect(parseMigration(huge, NOW)).toEqual({ kind: "dropped", outcome: "oversized" });
    expect(parseMigration(Buffer.from(huge), NOW)).toEqual({ kind: "dropped", outcome: "oversized" });
  });

  it("never throws and never yields an invalid mint, whatever arrives", () => {
    const junk = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({
          env: fc.constantFrom(null, "message", "payload", "data"),
          mintKey: fc.constantFrom("mint", "token", "address"),
          mint: fc.oneof(mintArb, fc.string(), fc.integer(), fc.constant(null)),
          symKey: fc.constantFrom("symbol", "ticker"),
          sym: fc.oneof(fc.string(), fc.integer()),
          timestamp: fc.oneof(fc.integer(), fc.double(), fc.string()),
        })
        .map(({ env, mintKey, mint, symKey, sym, timestamp }) => {
          const p = { [mintKey]: mint, [symKey]: sym, timestamp };
          return JSON.stringify(env ? { [env]: p } : p);
        }),
    );
    fc.assert(
      fc.property(junk, (frame) => {
        const r = parseMigration(frame, NOW);
        if (r.kind === "migration") {
          expect(isMint(r.mint)).toBe(true);
          expect(r.at).toBeLessThanOrEqual(NOW + 5 * 60_000);
          expect(r.at).toBeGreaterThanOrEqual(Date.UTC(2020, 0, 1));
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("finds the mint of every envelope and key spelling", () => {
    fc.assert(
      fc.property(
        mintArb,
        fc.constantFrom(null, "message", "payload", "data"),
        fc.constantFrom("mint", "token"),
        fc.constantFrom("symbol", "ticker"),
        fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== ""),
        (mint, env, mintKey, symKey, sym) => {
          const p = { [mintKey]: mint, [symKey]: sym, txType: "migrate" };
          const r = parseMigration(JSON.stringify(env ? { [env]: p } : p), NOW);
          expect(r).toMatchObject({ kind: "migration", mint, symbol: sym.trim() });
        },
      ),
    );
  });
});

describe("reconnect backoff", () => {
  it("doubles from 1 s to 10 s with up to 0.5 s of jitter", () => {
    expect([0, 1, 2, 3, 4, 5, 30].map((a) => reconnectDelayMs(a, 0))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000,
    ]);
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = reconnectDelayMs(attempt, r);
        expect(d).toBeGreaterThanOrEqual(1_000);
        expect(d).toBeLessThanOrEqual(10_500);
      }),
    );
  });
});

describe("connectUrl", () => {
  it("puts the api key in the api-key parameter, and only when there is one", () => {
    expect(connectUrl("wss://pumpportal.fun/api/data", undefined)).toBe("wss://pumpportal.fun/api/data");
    expect(connectUrl("wss://pumpportal.fun/api/data", "s3cr3t")).toBe(
      "wss://pumpportal.fun/api/data?api-key=s3cr3t",
    );
  });
});
