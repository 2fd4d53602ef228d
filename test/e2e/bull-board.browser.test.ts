import { once } from "node:events";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Response,
} from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bullPrefix, type Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { silentLogger, testLive, testRedis, uniquePrefix } from "../support/harness.js";
import { launchChromium } from "../support/browser.js";

const ADMIN_TOKEN = "test-admin-token-0123456789";
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

let redis: Redis;
let server: Server;
let base: string;
let browser: Browser;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  redis = testRedis("bull-board-browser");
  const prefix = uniquePrefix();
  const app = createApiApp({
    live: testLive({ REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN }, redis),
    redis,
    store: new TokenStore(redis, prefix),
    logger: silentLogger(),
    onClose: (close) => closers.push(close),
  });
  server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Waiting jobs in both queues, so the board has counts to show.
  for (const [lane, n] of [
    ["hot", 3],
    ["cold", 2],
  ] as const) {
    const queue = new Queue(lane, { connection: redis, prefix: bullPrefix(prefix) });
    for (let i = 0; i < n; i++)
      await queue.add("batch", { lane, mints: [`${lane}-mint-${i}`], claimedAt: Date.now() });
    await queue.close();
  }

  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (server)
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await Promise.all(closers.map((close) => close()));
  await redis?.quit().catch(() => undefined);
});

/** A fresh context whose requests never leave the host (Bull Board's page links Google Fonts). */
async function localContext(opts: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    return LOCAL_HOSTS.has(url.hostname) ? route.continue() : route.abort();
  });
  return context;
}

describe("Bull Board in Chromium", () => {
  it("lists the hot and cold queues after an HTTP Basic login", async () => {
    const context = await localContext({ httpCredentials: { username: "admin", password: ADMIN_TOKEN } });
    try {
      const page = await context.newPage();
      const res = await page.goto(`${base}/admin/queues`);
      expect(res?.status()).toBe(200);
      // The sidebar links each queue by name once the page has fetched the board's API.
      const hot = page.locator('a[href$="/queue/hot"]').first();
      const cold = page.locator('a[href$="/queue/cold"]').first();
      await hot.waitFor({ timeout: 30_000 });
      await cold.waitFor({ timeout: 30_000 });
      expect(await hot.innerText()).toMatch(/hot/);
      expect(await cold.innerText()).toMatch(/cold/);
      await page.screenshot({ path: `${ARTIFACTS}bull-board.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });

  it("answers 401 with a Basic challenge and shows no queue without credentials", async () => {
    const context = await localContext();
    try {
      const page = await context.newPage();
      const url = `${base}/admin/queues`;
      const answer = page.waitForResponse((r) => r.url() === url);
      // With no credentials to offer, Playwright cancels the login prompt and Chromium ends the
      // navigation with ERR_INVALID_AUTH_CREDENTIALS instead of a response, so the 401 is read
      // from the network.
      const navigation: Response | null | Error = await page
        .goto(url)
        .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      const res = await answer;
      expect(res.status()).toBe(401);
      expect(res.headers()["www-authenticate"]).toBe('Basic realm="moonfleet"');
      if (navigation instanceof Error) expect(navigation.message).toMatch(/ERR_INVALID_AUTH_CREDENTIALS/);
      else expect(navigation?.status()).toBe(401);
      await page.waitForLoadState();
      expect(await page.locator('a[href$="/queue/hot"]').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("shows the 401 refusal, not the board, for a wrong password", async () => {
    const context = await localContext({
      httpCredentials: { username: "admin", password: "wrong-password-0000" },
    });
    try {
      const page = await context.newPage();
      const res = await page.goto(`${base}/admin/queues`);
      expect(res?.status()).toBe(401);
      // The refusal is the page: the api's error, no board.
      expect(await page.locator("body").innerText()).toContain("admin credentials required");
      expect(await page.locator('a[href$="/queue/hot"]').count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}bull-board-401.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });
});
