import { once } from "node:events";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import { type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { createDiscovery } from "../../apps/discovery/src/discovery.js";
import { createProducer } from "../../apps/producer/src/producer.js";
import { demoMints, type Simulator } from "../../apps/simulator/src/index.js";
import { startWorkerProcess } from "../../apps/worker/src/worker-process.js";
import {
  redisUrl,
  silentLogger,
  startSimulator,
  testLive,
  testRedis,
  testResolved,
  uniquePrefix,
} from "../support/harness.js";
import { launchChromium, loopbackPage } from "../support/browser.js";

// The fleet dashboard at `/` in Chromium, against a running fleet: simulator, producer, two
// workers and the api, all in this process over the suite's private Redis.
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const prefix = uniquePrefix();
const env = {
  REDIS_KEY_PREFIX: prefix,
  PRODUCER_TICK_MS: "200",
  CACHE_TTL_HOT: "5",
  CACHE_TTL_COLD: "10",
  DUE_MARGIN_MS: "0",
  CONTROLLER_INTERVAL_MS: "500",
};

let redis: Redis;
let base = "";
let browser: Browser;
let simulator: { sim: Simulator; url: string };
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  redis = testRedis("dashboard-browser");
  simulator = await startSimulator({ latencyMs: 20, jitterMs: 20 });
  const { sim, url } = simulator;
  cleanup.push(() => sim.close());

  const live = testLive(env, redis);
  await live.start();
  cleanup.push(() => live.stop());
  const app = createApiApp({
    live,
    redis,
    store: new TokenStore(redis, prefix),
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

  const resolved = testResolved(env);
  const producer = createProducer({ resolved, redisUrl: redisUrl(), logger: silentLogger() });
  const stopProducer = new AbortController();
  const producerLoop = producer.run(stopProducer.signal);
  cleanup.push(async () => {
    stopProducer.abort();
    await producerLoop;
    await producer.close();
  });
  for (let i = 0; i < 2; i++) {
    const worker = startWorkerProcess({
      resolved,
      redisUrl: redisUrl(),
      upstreamUrl: url,
      logger: silentLogger(),
    });
    cleanup.push(() => worker.stop(1_000));
    await worker.ready;
  }
  await new TokenStore(redis, prefix).register(
    demoMints(100, `dashboard-${prefix}`).map((mint) => ({ mint })),
    Date.now(),
  );

  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis?.quit().catch(() => undefined);
});

/** The fleet page in a page that stays on the host (see loopbackPage). */
async function openDashboard() {
  const opened = await loopbackPage(browser);
  const res = await opened.page.goto(`${base}/`);
  expect(res?.status()).toBe(200);
  return opened;
}

const numberIn = async (page: Page, testid: string) =>
  Number.parseFloat(await page.getByTestId(testid).innerText());

describe("the fleet dashboard in Chromium", () => {
  it("shows throughput, worker concurrency and the top tokens of a running fleet, loading nothing from outside the host", async () => {
    const { context, page, external, errors } = await openDashboard();
    try {
      // Non-zero tokens per second, as the page prints it, within 30 s.
      const tokensPerSecond = async () =>
        (await numberIn(page, "tokens-per-second-hot")) + (await numberIn(page, "tokens-per-second-cold"));
      await expect.poll(tokensPerSecond, { timeout: 30_000, interval: 500 }).toBeGreaterThan(0);

      // At least one worker with its concurrency per queue and the controller's reason.
      const row = page.getByTestId("worker-row").first();
      await row.waitFor({ timeout: 30_000 });
      for (const lane of ["hot", "cold"]) {
        expect(
          Number(await row.getByTestId(`worker-concurrency-${lane}`).innerText()),
        ).toBeGreaterThanOrEqual(1);
        // The controller's reason in words, its raw code on hover.
        const reason = row.getByTestId(`worker-reason-${lane}`);
        const code = await reason.getAttribute("data-code");
        expect(code).toMatch(/^[a-z_]+$/);
        expect(await reason.getAttribute("title")).toBe(code);
        expect(await reason.innerText()).toMatch(/^[a-z0-9 ():,-]+$/);
        expect(await reason.innerText()).not.toBe(code);
        // "why?" opens the lane's controller decisions, whose last one is the reason shown.
        const why = await row.getByTestId(`worker-decisions-${lane}`).getAttribute("href");
        expect(why).toMatch(new RegExp(`^/controller/decisions\\?worker=.+&lane=${lane}$`));
        const decisions = (await (await fetch(`${base}${why}`)).json()) as {
          decisions: Array<{ lane: string; concurrency: { rule: string } }>;
        };
        expect(decisions.decisions.length).toBeGreaterThan(0);
        expect(decisions.decisions.every((d) => d.lane === lane)).toBe(true);
      }
      expect(await row.getByTestId("worker-breaker").innerText()).toMatch(/^(closed|half-open|open)$/);
      // Both workers, each with its CPU reading joined from /health/system.
      await expect.poll(() => page.getByTestId("worker-row").count(), { timeout: 30_000 }).toBe(2);
      await expect
        .poll(
          () =>
            page
              .getByTestId("worker-cpu")
              .evaluateAll((cells) => cells.map((c) => c.getAttribute("data-value"))),
          {
            timeout: 30_000,
          },
        )
        .toEqual([expect.stringMatching(/^\d/), expect.stringMatching(/^\d/)]);

      // The top tokens by smoothed score, at most ten, and a history line once one is scored twice.
      await page.getByTestId("top-token").first().waitFor({ timeout: 30_000 });
      const scores = await page.getByTestId("top-token-score").allInnerTexts();
      expect(scores.length).toBeGreaterThan(0);
      expect(scores.length).toBeLessThanOrEqual(10);
      // Only scored tokens are listed. (Their order is the api's; a token re-scored between its
      // index read and its snapshot read may briefly sit out of order, so it is not asserted here.)
      for (const score of scores) expect(Number.isFinite(Number(score))).toBe(true);
      await page.locator('[data-testid="token-sparkline"] polyline').first().waitFor({ timeout: 30_000 });

      // The rest of the page is filled in from the same reading.
      expect(await page.getByTestId("status").getAttribute("data-status")).toMatch(
        /^(ok|degraded|critical)$/,
      );
      expect(await page.getByTestId("budget-use-text").innerText()).toMatch(/^\d+ \/ 240 requests/);
      expect(Number(await page.getByTestId("budget-use").getAttribute("data-ratio"))).toBeGreaterThanOrEqual(
        0,
      );
      expect(await page.getByTestId("staleness-hot").innerText()).toContain("/ 5 s");
      expect(await page.getByTestId("staleness-cold").innerText()).toContain("/ 10 s");
      expect(await page.locator('[data-testid="tps-chart"] canvas').count()).toBe(1);
      expect(await page.getByTestId("connection").getAttribute("data-state")).toBe("live");
      expect(await page.getByTestId("reconnecting").isHidden()).toBe(true);

      // A few more polls, so the screenshot's charts have lines rather than a first dot.
      await page.waitForTimeout(6_000);
      await page.screenshot({ path: `${ARTIFACTS}dashboard-fleet.png`, fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.waitForTimeout(2_500);
      await page.screenshot({ path: `${ARTIFACTS}dashboard-laptop.png` });

      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("shows a reconnecting state while the api does not answer, and recovers by itself", async () => {
    const { context, page, external, errors } = await openDashboard();
    try {
      await page.getByTestId("worker-row").first().waitFor({ timeout: 30_000 });
      // The api goes away for the page: every JSON request fails at the network.
      const down = (route: { abort: () => Promise<void> }) => route.abort();
      await page.route(/\/(health|tokens)\b/, down);
      await page.getByTestId("reconnecting").waitFor({ state: "visible", timeout: 10_000 });
      expect(await page.getByTestId("connection").getAttribute("data-state")).toBe("reconnecting");
      await page.screenshot({ path: `${ARTIFACTS}dashboard-reconnecting.png` });

      await page.unroute(/\/(health|tokens)\b/, down);
      await page.getByTestId("reconnecting").waitFor({ state: "hidden", timeout: 10_000 });
      expect(await page.getByTestId("connection").getAttribute("data-state")).toBe("live");

      expect(external).toEqual([]);
      // Chromium logs each refused request; nothing else may be an error.
      expect(errors.filter((e) => !e.startsWith("Failed to load resource"))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("shows discovery's arrivals per minute and the registry by status", async () => {
    const { context, page, external, errors } = await openDashboard();
    const stop = new AbortController();
    let running: Promise<void> | undefined;
    const discovery = createDiscovery({
      redisUrl: redisUrl(),
      prefix,
      url: `${simulator.url.replace(/^http/, "ws")}/api/data`,
      pingMs: 20_000,
      logger: silentLogger(),
    });
    try {
      await expect
        .poll(() => page.getByTestId("discovery-state").getAttribute("data-state"), { timeout: 10_000 })
        .toBe("no_leader");
      await expect
        .poll(() => page.getByTestId("registry-by-status").innerText(), { timeout: 10_000 })
        .toMatch(/^100 tokens: \d+ monitoring · \d+ active · 0 archived$/);

      simulator.sim.settings.update({ migrationsPerMinute: 300 });
      running = discovery.run(stop.signal);
      await expect
        .poll(() => page.getByTestId("discovery-state").getAttribute("data-state"), { timeout: 15_000 })
        .toBe("connected");
      await expect
        .poll(async () => Number(await page.getByTestId("discovery-arrivals").innerText()), {
          timeout: 15_000,
        })
        .toBeGreaterThanOrEqual(3);
      await expect
        .poll(
          async () =>
            Number(/^(\d+) tokens/.exec(await page.getByTestId("registry-by-status").innerText())?.[1]),
          {
            timeout: 10_000,
          },
        )
        .toBeGreaterThan(100);
      expect(await page.getByTestId("discovery-last-event").innerText()).toMatch(/^\d+ s ago$/);
      await page.screenshot({ path: `${ARTIFACTS}dashboard-discovery.png`, fullPage: true });
      expect(external).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      simulator.sim.settings.update({ migrationsPerMinute: 0 });
      stop.abort();
      await running;
      await discovery.close();
      await context.close();
    }
  });
});
