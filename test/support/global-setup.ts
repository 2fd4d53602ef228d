import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startRedisServer } from "../../apps/launcher/src/redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** One private redis-server for the whole integration run; each test file uses its own key prefix. */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "moonfleet-test-redis-"));
  const redis = await startRedisServer({ dir, appendOnly: false });
  project.provide("redisUrl", redis.url);
  return async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
