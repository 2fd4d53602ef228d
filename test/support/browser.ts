import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from "playwright-core";

/**
 * Debian's Chromium, headless, with the flags this machine needs (no sandbox as root; no
 * background networking, component updates or sync, whose connections the closed network refuses).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-gpu",
      "--no-first-run",
    ],
  });
}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Chromium aborts its in-flight requests, loopback ones included, with this error when the host's
 * network interfaces change: the compose test beside the e2e files creates and removes Docker
 * bridges and veths (CI, 2026-12-06: four of these in the history page's test, whose page then
 * showed everything it should). It is the host's doing, not the page's; the pages poll, and each
 * test still asserts what the page shows after.
 */
const NETWORK_CHANGED = /net::ERR_NETWORK_CHANGED/;

/**
 * A page whose requests never leave the host: any other request is blocked and recorded in
 * `external`; console errors (but for the host's network changing) and page errors are recorded
 * in `errors`.
 */
export async function loopbackPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; page: Page; external: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, ...options });
  const external: string[] = [];
  await context.route("**/*", async (route) => {
    const url = route.request().url();
    const { protocol, hostname } = new URL(url);
    if (protocol === "data:" || protocol === "blob:" || LOCAL_HOSTS.has(hostname)) return route.continue();
    external.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" && !NETWORK_CHANGED.test(msg.text())) errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(err.message));
  return { context, page, external, errors };
}
