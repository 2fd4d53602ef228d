import { once } from "node:events";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchJobName, bullPrefix, type Redis } from "@moonfleet/queues";
import { evaluateToken, pairSchema, type PairInput } from "@moonfleet/scoring";
import { TokenStore, type TokenUpdate } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { HISTORY_STEP_MS, recordSample, type FleetSample } from "../../apps/api/src/history-sampler.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { silentLogger, testLive, testRedis, uniquePrefix } from "../support/harness.js";
import { launchChromium, loopbackPage } from "../support/browser.js";

// The tokens page, a token's page, the fleet page's Redis-backed charts, Bull Board's way back
// and /docs, in Chromium, against an api over the suite's Redis with scored tokens written by
// the scoring package (no fleet: the pages only read).
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const ADMIN_TOKEN = "test-admin-token-0123456789";
const WSOL = "So11111111111111111111111111111111111111112";
const prefix = uniquePrefix();
const mints = demoMints(12, `tokens-browser-${prefix}`);
const TARGET = mints[3]!;

let redis: Redis;
let base = "";
let browser: Browser;
const cleanup: Array<() => Promise<unknown>> = [];

/** Two tradable pools of `mint` with trading that gives every component a value. */
function pairsOf(mint: string, i: number, variant: number) {
  const pool = (address: string, dexId: string, labels: string[], liquidity: number): PairInput => ({
    chainId: "solana",
    dexId,
    pairAddress: address,
    labels,
    baseToken: { address: mint, name: `Moon Token ${i}`, symbol: i === 3 ? "ZORBIT" : `TK${i}` },
    quoteToken: { address: WSOL, symbol: "SOL" },
    priceUsd: "0.00021",
    txns: { m5: { buys: 30 + variant, sells: 12 }, h1: { buys: 160, sells: 90 } },
    volume: { m5: 2_400 + variant * 100, h1: 9_000 },
    priceChange: { m5: 4.2, h1: 18 },
    liquidity: { usd: liquidity },
  });
  const [a, b] = demoMints(2, `pools-${mint}`);
  return [pool(a!, "raydium", ["CPMM"], 42_000 + i), pool(b!, "meteora", ["DLMM"], 18_000)].map((p) =>
    pairSchema.parse(p),
  );
}

/** Two refreshes of each token through the real scoring, so raw and smoothed differ. */
async function seedTokens(store: TokenStore, now: number) {
  await store.register(
    mints.map((mint) => ({ mint, createdAt: now - 2 * 3_600_000 })),
    now - 60_000,
  );
  for (const [step, at] of [now - 20_000, now - 5_000].entries()) {
    const updates: TokenUpdate[] = [];
    for (const [i, mint] of mints.entries()) {
      const found = await store.get(mint);
      const prev = found?.snapshot
        ? { ...found.snapshot.smoothed, score: found.snapshot.smoothedScore }
        : null;
      const pairs = pairsOf(mint, i, i + step * 7);
      const e = evaluateToken({
        mint,
        status: found?.token.status ?? "monitoring",
        createdAt: now - 2 * 3_600_000,
        lastGoodScoreAt: null,
        activeSince: null,
        pairs,
        previous: prev,
        now: at,
      });
      updates.push({
        snapshot: {
          mint,
          name: e.name,
          symbol: e.symbol,
          status: e.status,
          lane: e.lane,
          fetchedAt: at,
          score: e.raw.score,
          smoothedScore: e.smoothed.score,
          band: e.band,
          components: e.raw,
          smoothed: e.smoothed,
          metrics: e.metrics,
        },
        dueAt: at + 15_000,
        lastGoodScoreAt: e.lastGoodScoreAt,
        activeSince: e.activeSince,
      });
    }
    await store.commit(updates);
  }
}

/** Ten minutes of the fleet's figures, as the api's sampler would have written them. */
async function seedHistory(now: number) {
  const slot = Math.floor(now / HISTORY_STEP_MS) * HISTORY_STEP_MS;
  for (let i = 60; i >= 1; i--) {
    const t = slot - i * HISTORY_STEP_MS;
    const sample: FleetSample = {
      t,
      tokensPerSecond: { hot: 3 + Math.sin(i / 5), cold: 1.5 },
      staleness: { hot: { p50: 4, p95: 9, ttl: 15 }, cold: { p50: 10, p95: 22, ttl: 30 } },
      concurrency: { hot: 4, cold: 4 },
      waitingJobs: { hot: 0, cold: 1 },
      workers: 2,
      budget: { limitPerMinute: 240, minute: Math.floor(t / 60_000), thisMinute: 50, last60s: 120 },
    };
    await recordSample(redis, prefix, sample);
  }
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  redis = testRedis("tokens-browser");
  const store = new TokenStore(redis, prefix);
  const app = createApiApp({
    live: testLive({ REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN }, redis),
    redis,
    store,
    logger: silentLogger(),
    onClose: (close) => cleanup.push(close),
  });
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = Date.now();
  await seedTokens(store, now);
  await seedHistory(now);
  // The job that carried the target token, named as the producer names it.
  const queue = new Queue("cold", { connection: redis, prefix: bullPrefix(prefix) });
  await queue.add(batchJobName("cold", 3), {
    lane: "cold",
    mints: [mints[2]!, TARGET, mints[4]!],
    claimedAt: now,
  });
  await queue.close();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis?.quit().catch(() => undefined);
});

/** A page that stays on the host, logged in to Bull Board and allowed the clipboard. */
async function openContext() {
  const opened = await loopbackPage(browser, {
    httpCredentials: { username: "admin", password: ADMIN_TOKEN },
  });
  await opened.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  return opened;
}

describe("the tokens pages in Chromium", () => {
  it("searches a symbol, opens the token, sums its components to its score, copies its SMB block, follows its job into Bull Board and comes back", async () => {
    const { context, page, external, errors } = await openContext();
    try {
      await page.goto(`${base}/ui/tokens`);
      await expect.poll(() => page.getByTestId("token-row").count(), { timeout: 10_000 }).toBe(12);
      await page.screenshot({ path: `${ARTIFACTS}tokens.png`, fullPage: true });

      // Search: the table narrows, and the URL keeps the view.
      await page.getByTestId("search").fill("zorb");
      await expect.poll(() => page.getByTestId("token-row").count(), { timeout: 10_000 }).toBe(1);
      expect(new URL(page.url()).searchParams.get("q")).toBe("zorb");
      expect(await page.getByTestId("result-count").getAttribute("data-total")).toBe("1");
      await page.reload();
      await expect.poll(() => page.getByTestId("token-row").count(), { timeout: 10_000 }).toBe(1);
      expect(await page.getByTestId("search").inputValue()).toBe("zorb");

      // Open it.
      await page.getByTestId("token-row").first().click();
      await page.waitForURL(`**/ui/tokens/${TARGET}`);
      await expect
        .poll(() => page.getByTestId("token-symbol").innerText(), { timeout: 10_000 })
        .toBe("ZORBIT");
      expect(await page.getByTestId("token-mint").innerText()).toBe(TARGET);
      expect(await page.getByTestId("link-dexscreener").getAttribute("href")).toBe(
        `https://dexscreener.com/solana/${TARGET}`,
      );
      expect(await page.getByTestId("link-solscan").getAttribute("href")).toBe(
        `https://solscan.io/token/${TARGET}`,
      );

      // The weighted components sum to the smoothed score the page shows.
      await expect.poll(() => page.getByTestId("component").count(), { timeout: 10_000 }).toBe(4);
      const parts = await page
        .getByTestId("component-contribution")
        .evaluateAll((cells) => cells.map((c) => Number(c.getAttribute("data-value"))));
      const shown = Number(await page.getByTestId("token-score").innerText());
      expect(shown).toBeGreaterThan(0);
      expect(Math.abs(parts.reduce((a, b) => a + b, 0) - shown)).toBeLessThan(0.00051);
      expect(Number(await page.getByTestId("breakdown-total-value").innerText())).toBe(shown);
      // Raw and smoothed differ after two refreshes: the table shows both.
      expect(Number(await page.getByTestId("breakdown-raw-total").innerText())).not.toBe(shown);
      expect(await page.getByTestId("band-floors").innerText()).toContain("bot-ready ≥ 0.9");
      expect(await page.getByTestId("pool-row").count()).toBe(2);
      // Liquidity and transactions charted over every kept refresh.
      const history = (await (await fetch(`${base}/tokens/${TARGET}`)).json()) as {
        history: Array<{ liquidityUsd?: number }>;
      };
      expect(history.history.every((h) => (h.liquidityUsd ?? 0) > 0)).toBe(true);
      expect(Number(await page.getByTestId("market-chart").getAttribute("data-points"))).toBe(
        history.history.length,
      );
      expect(await page.getByTestId("status-change").first().innerText()).toMatch(/^active\s+hot\s+since /);
      expect(await page.getByTestId("token-next-due").innerText()).toMatch(/^(in|now)/);

      // Copy the SMB block: the clipboard holds exactly what the api serves.
      const smb = page.getByTestId("smb-block");
      await expect.poll(() => smb.innerText(), { timeout: 10_000 }).toContain(TARGET);
      await page.getByTestId("copy-smb").click();
      await expect.poll(() => page.getByTestId("copy-smb").getAttribute("data-copied")).toBe("yes");
      const served = (await (await fetch(`${base}/tokens/${TARGET}/pool-configs`)).json()) as {
        smbToml: string;
      };
      expect(
        await page.evaluate(() =>
          (
            globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
          ).navigator.clipboard.readText(),
        ),
      ).toBe(served.smbToml);
      await page.mouse.wheel(0, -100_000);
      await page.screenshot({ path: `${ARTIFACTS}token.png`, fullPage: true });

      // The job that carried it, into Bull Board, and back by the board's own link.
      const job = page.getByTestId("job-link").first();
      await job.waitFor({ timeout: 10_000 });
      expect(await job.innerText()).toContain("cold 3 mints");
      await job.click();
      await page.waitForURL(/\/admin\/queues\/queue\/cold\/\w+/);
      await page.getByText("cold 3 mints").first().waitFor({ timeout: 20_000 });
      await page.screenshot({ path: `${ARTIFACTS}bull-board-job.png`, fullPage: true });
      // Bull Board's header menu (its miscLinks) leads back to the dashboard's pages.
      await page.locator('ul[class^="actions"] > li:last-child button').click();
      await page.getByText("Fleet dashboard").click();
      await page.waitForURL(`${base}/`);
      await page.getByTestId("nav").waitFor();
      await page.goBack();
      await page.goBack();
      await page.waitForURL(`**/ui/tokens/${TARGET}`);
      await expect
        .poll(() => page.getByTestId("token-symbol").innerText(), { timeout: 10_000 })
        .toBe("ZORBIT");

      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("filters by band and pages over the whole registry", async () => {
    const { context, page, external, errors } = await openContext();
    try {
      await page.goto(`${base}/ui/tokens?limit=25&sort=score_asc`);
      await expect.poll(() => page.getByTestId("token-row").count(), { timeout: 10_000 }).toBe(12);
      const band = await page.getByTestId("token-row").first().locator(".band").innerText();
      await page.getByTestId("filter-band").selectOption(band);
      await expect.poll(() => new URL(page.url()).searchParams.get("band"), { timeout: 10_000 }).toBe(band);
      const total = Number(await page.getByTestId("result-count").getAttribute("data-total"));
      expect(total).toBeGreaterThan(0);
      const bands = await page.locator('[data-testid="token-row"] .band').allInnerTexts();
      expect(bands.every((b) => b === band)).toBe(true);
      expect(await page.getByTestId("export-csv").getAttribute("href")).toContain(`band=${band}`);
      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("shows the fleet's history from Redis at once after a reload, with a range picker", async () => {
    const { context, page, external, errors } = await openContext();
    try {
      await page.goto(`${base}/`);
      const shownSeconds = async () =>
        Number((await page.getByTestId("history-span").getAttribute("data-seconds")) ?? 0);
      await expect.poll(shownSeconds, { timeout: 10_000 }).toBeGreaterThanOrEqual(300);
      await page.reload();
      await expect.poll(shownSeconds, { timeout: 5_000 }).toBeGreaterThanOrEqual(300);
      await page.locator('[data-range="15m"]').click();
      expect(new URL(page.url()).searchParams.get("range")).toBe("15m");
      await expect.poll(shownSeconds, { timeout: 5_000 }).toBeGreaterThanOrEqual(300);
      expect(await page.getByTestId("nav").locator("a").allInnerTexts()).toEqual([
        "Fleet",
        "Tokens",
        "Bull Board",
        "/metrics",
        "/config",
        "API docs",
      ]);
      await expect
        .poll(() => page.getByTestId("budget-use-text").innerText(), { timeout: 10_000 })
        .toMatch(/^\d+ \/ 240 requests/);
      // /health/scheduler's classes block (value scheduling): a row per class.
      await expect.poll(() => page.getByTestId("class-row").count(), { timeout: 10_000 }).toBe(4);
      expect(await page.getByTestId("floor-covered").innerText()).toMatch(/staleness floor/);
      await page.screenshot({ path: `${ARTIFACTS}fleet-history.png`, fullPage: true });

      // An api without the block (an older one): no class table.
      await page.route("**/health/scheduler", async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as Record<string, unknown>;
        delete body.classes;
        await route.fulfill({ response: res, json: body });
      });
      await expect.poll(() => page.getByTestId("classes-panel").isHidden(), { timeout: 10_000 }).toBe(true);
      await page.unroute("**/health/scheduler");

      // The figures the block carries, as the table prints them.
      await page.route("**/health/scheduler", async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as Record<string, unknown>;
        const cls = (tokens: number, p95: number | null, share: number) => ({
          tokens,
          stalenessP95Seconds: p95,
          callShare: share,
        });
        body.classes = {
          exported: cls(3, 4.5, 0.2),
          top50: cls(50, 8, 0.4),
          active: cls(200, 14, 0.3),
          monitoring: cls(900, null, 0.1),
        };
        await route.fulfill({ response: res, json: body });
      });
      await expect
        .poll(() => page.getByTestId("class-row").first().innerText(), { timeout: 10_000 })
        .toMatch(/^exported\s+3\s+4\.5 s\s+20%$/);
      expect(await page.getByTestId("class-row").count()).toBe(4);
      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("renders the API description at /docs from local files", async () => {
    const { context, page, external, errors } = await openContext();
    try {
      await page.goto(`${base}/docs`);
      await page.locator(".opblock").first().waitFor({ timeout: 15_000 });
      expect(await page.locator(".opblock").count()).toBeGreaterThan(20);
      await page.screenshot({ path: `${ARTIFACTS}api-docs.png` });
      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
