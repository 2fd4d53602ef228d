import type { PairInput } from "@moonfleet/scoring";
import { describe, expect, it } from "vitest";
import { demoMints, marketProfile, pairsFor } from "../src/index.js";
import type { Truth } from "../src/index.js";
import { getJson, sendJson, startSimulator } from "./support.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const mints = demoMints(40).filter((mint) => marketProfile(mint).kind !== "dead");
const fixed = mints.slice(0, 5);

async function truth(url: string, body: unknown): Promise<{ status: number; body: Truth }> {
  const answer = await sendJson(`${url}/admin/truth`, "POST", body);
  return { status: answer.status, body: answer.body as Truth };
}

describe("POST /admin/truth", () => {
  it("equals what the pairs endpoints answer at the same moment", async () => {
    const { url } = await startSimulator({ settings: { frozenAt: T0 } });
    const answer = await truth(url, { mints: fixed });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ at: T0, marketNow: T0, model: "function-of-time" });
    const batch = await getJson(`${url}/tokens/v1/solana/${fixed.join(",")}`);
    expect(fixed.flatMap((mint) => answer.body.pairs[mint] ?? [])).toEqual(batch.body);
    for (const mint of fixed) {
      const one = await getJson(`${url}/token-pairs/v1/solana/${mint}`);
      expect(answer.body.pairs[mint]).toEqual(one.body);
      expect((answer.body.pairs[mint] ?? []).length).toBeGreaterThan(0);
    }
  });

  it("answers at `at`, past or future, as the endpoints answer once the clock gets there", async () => {
    const { url } = await startSimulator({ settings: { frozenAt: T0 } });
    const at = T0 + 7 * 60_000;
    const ahead = await truth(url, { mints: fixed, at });
    expect(ahead.body.at).toBe(at);
    expect(ahead.body.marketNow).toBe(T0);
    const now = await truth(url, { mints: fixed });
    expect(ahead.body.pairs).not.toEqual(now.body.pairs);
    await sendJson(`${url}/admin/settings`, "PATCH", { frozenAt: at });
    const batch = await getJson(`${url}/tokens/v1/solana/${fixed.join(",")}`);
    expect(fixed.flatMap((mint) => ahead.body.pairs[mint] ?? [])).toEqual(batch.body);
    const behind = await truth(url, { mints: fixed, at: T0 });
    expect(behind.body.pairs).toEqual(now.body.pairs);
    expect(behind.body.pairs[fixed[0] ?? ""]).toEqual(pairsFor(fixed[0] ?? "", T0));
  });

  it("follows a running clock: at the market's now it matches the endpoint", async () => {
    let real = T0;
    const { sim, url } = await startSimulator({ now: () => real, settings: { timeScale: 10 } });
    real += 12_345;
    const answer = await truth(url, { mints: fixed.slice(0, 2) });
    expect(answer.body.at).toBe(sim.marketNow());
    const batch = await getJson(`${url}/tokens/v1/solana/${fixed.slice(0, 2).join(",")}`);
    expect(fixed.slice(0, 2).flatMap((mint) => answer.body.pairs[mint] ?? [])).toEqual(batch.body);
  });

  it("ignores faults and limits, and includes overrides", async () => {
    const { url } = await startSimulator({
      settings: { frozenAt: T0, outage: true, omitRate: 1, errorRate: 1, rateLimitRpm: 1 },
    });
    const custom: PairInput[] = [
      {
        chainId: "solana",
        dexId: "orca",
        pairAddress: "P".repeat(44),
        baseToken: { address: fixed[1] ?? "" },
        quoteToken: { symbol: "SOL" },
      },
    ];
    await sendJson(`${url}/admin/markets/${fixed[1] ?? ""}`, "PUT", { pairs: custom });
    for (let i = 0; i < 3; i++) {
      const answer = await truth(url, { mints: fixed.slice(0, 2) });
      expect(answer.status).toBe(200);
      expect(answer.body.pairs[fixed[0] ?? ""]).toEqual(pairsFor(fixed[0] ?? "", T0));
      expect(answer.body.pairs[fixed[1] ?? ""]).toEqual(custom);
    }
    expect((await fetch(`${url}/token-pairs/v1/solana/${fixed[0] ?? ""}`)).status).toBe(503);
  });

  it("rejects bad requests with a 400 and the zod issues", async () => {
    const { url } = await startSimulator();
    for (const bad of [
      {},
      { mints: [] },
      { mints: "abc" },
      { mints: [""] },
      { mints: fixed, at: -1 },
      { mints: fixed, at: "now" },
      { mints: fixed, extra: 1 },
      { mints: Array.from({ length: 10_001 }, (_, i) => `m${i}`) },
    ]) {
      const answer = await sendJson(`${url}/admin/truth`, "POST", bad);
      expect(answer.status).toBe(400);
      expect((answer.body as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    }
    const broken = await fetch(`${url}/admin/truth`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(broken.status).toBe(400);
  });
});
