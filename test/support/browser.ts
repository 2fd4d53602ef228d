import { chromium, type Browser } from "playwright-core";

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
