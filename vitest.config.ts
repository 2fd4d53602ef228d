import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests import workspace packages from their sources, so a test run never reads a stale build.
const root = fileURLToPath(new URL(".", import.meta.url));
const alias = Object.fromEntries(
  readdirSync(`${root}packages`).map((name) => [
    `@moonfleet/${name}`,
    `${root}packages/${name}/src/index.ts`,
  ]),
);

/**
 * Files that measure the machine (a CPU hog beside the controller; 3,000 slow connections against
 * the api's event loop; four workers, a producer and a simulator held to a staleness guarantee
 * with 4 s of slack, which assumes they get the CPU: beside another file's fleet a cold token
 * reached 24.1 s of its 24 in CI, alone 20.1-22.6 before cold jobs took the budget as hot with
 * the claim's lead, 18.5-22.0 since, CI and a fresh clone's run included): each runs alone, after the others, so no
 * other file shares its 2 CPUs.
 */
const ALONE = [
  "test/integration/api-slowloris.test.ts",
  "test/integration/controller.test.ts",
  "test/integration/budget-fleet.test.ts",
  // The discovery process's own clocks against the simulator's: a stream replaced within two
  // 20 s pings (plus a reconnect), reconnect gaps of 1, 2, 4, 8, 10 s. Beside other files' fleets
  // in CI, its timers and the simulator's ran 4-7 s late (48.8 s of its 45; a gap of 16.2 s of
  // its 12.5), a hundredth of its own CPU.
  "test/integration/discovery.test.ts",
];

export default defineConfig({
  resolve: { alias },
  test: {
    // Two test files at a time: most integration files wait on timers, sockets and child processes,
    // and the compose test waits minutes on Docker (vitest's default is one file on 2 CPUs).
    maxWorkers: 2,
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/report.json" }]] : ["default"],
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts", "test/unit/**/*.test.ts"],
          // fast-check properties run thousands of cases; on a busy 2-core machine some take >5 s.
          testTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: ALONE,
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // docker compose up for real (test/compose): minutes of waiting on Docker, beside the
          // other files (maxWorkers 2).
          name: "compose",
          include: ["test/compose/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
      // Projects of a higher groupOrder start once every lower group has finished.
      ...ALONE.map((file, i) => ({
        resolve: { alias },
        test: {
          name: `alone:${file.replace(/^.*\//, "").replace(".test.ts", "")}`,
          include: [file],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: i + 1 },
        },
      })),
    ],
  },
});
