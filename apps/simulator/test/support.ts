import type { PairInput } from "@moonfleet/scoring";
import { afterEach } from "vitest";
import { createSimulator } from "../src/index.js";
import type { Simulator, SimulatorOptions } from "../src/index.js";

const open: Simulator[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((sim) => sim.close()));
});

/** A simulator on a free port, fast by default: no latency, no rate limit. */
export async function startSimulator(
  options: SimulatorOptions = {},
): Promise<{ sim: Simulator; url: string }> {
  const sim = createSimulator({
    ...options,
    settings: { latencyMs: 0, jitterMs: 0, rateLimitRpm: 0, ...options.settings },
  });
  open.push(sim);
  const { url } = await sim.listen();
  return { sim, url };
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

export async function sendJson(
  url: string,
  method: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  return getJson(url, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

// A small local copy of the activation rule (packages/scoring/src/activation.ts), so these tests do
// not depend on the scoring code.
const pumpDexes = new Set(["pumpfun-amm", "pumpfun", "pumpswap"]);
const notExternal = new Set([...pumpDexes, "launchlab"]);
const solQuotes = new Set(["WSOL", "SOL", "W_SOL", "W-SOL"]);
const externalQuotes = new Set([...solQuotes, "USDC", "USD1"]);

export function meetsActivationRule(mint: string, pairs: readonly PairInput[], thresholdUsd = 200): boolean {
  const own = pairs.filter((p) => p.baseToken.address === mint);
  const pump = own.some((p) => pumpDexes.has(p.dexId) && solQuotes.has(p.quoteToken.symbol ?? ""));
  const externals = own.filter(
    (p) =>
      !notExternal.has(p.dexId) &&
      externalQuotes.has(p.quoteToken.symbol ?? "") &&
      Number(p.liquidity?.usd ?? 0) >= thresholdUsd,
  ).length;
  return (pump && externals >= 1) || externals >= 2;
}
