import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { getPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyNice, startRedisServer } from "../../apps/launcher/src/redis-server.js";

// npm start's own redis-server runs at REDIS_SERVER_NICE (default -10): with the workers filling
// both cores, a producer tick's round trips waited behind their commits (large-registry tick p95
// 64-66 ms at nice 0, 34-39 ms at -10). A lower nice needs root or CAP_SYS_NICE; without them the
// server runs at the default and the launcher says why.

const dir = mkdtempSync(join(tmpdir(), "moonfleet-redis-nice-"));
const cleanup: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
  rmSync(dir, { recursive: true, force: true });
});

const root = process.getuid?.() === 0;

describe("the launcher's redis-server priority", () => {
  it("runs at the nice asked for, or says why not", async () => {
    const server = await startRedisServer({ dir, nice: -5 });
    cleanup.push(() => server.stop());
    const pid = server.process.pid!;
    if (root) {
      expect(server.niceRefused).toBeNull();
      expect(getPriority(pid)).toBe(-5);
    } else {
      expect(server.niceRefused).toBe("nice -5 needs root or CAP_SYS_NICE");
      expect(getPriority(pid)).toBe(getPriority());
    }
  });

  it("leaves the priority alone when none is asked for", async () => {
    const server = await startRedisServer({ dir: join(dir, "plain") });
    cleanup.push(() => server.stop());
    expect(server.niceRefused).toBeNull();
    expect(getPriority(server.process.pid)).toBe(getPriority());
  });

  it("applyNice sets a real process's nice, and names the privilege the OS refused", () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    cleanup.push(() => void child.kill());
    // a higher nice than one's own is always allowed
    expect(applyNice(child.pid!, 7)).toBeNull();
    expect(getPriority(child.pid)).toBe(7);
    const refuse = (code: string) => () => {
      throw Object.assign(new Error(`uv_os_setpriority returned ${code}`), { code });
    };
    expect(applyNice(1, -10, refuse("EACCES"))).toBe("nice -10 needs root or CAP_SYS_NICE");
    expect(applyNice(1, -10, refuse("EPERM"))).toBe("nice -10 needs root or CAP_SYS_NICE");
    expect(applyNice(1, -10, refuse("ESRCH"))).toBe("nice -10: uv_os_setpriority returned ESRCH");
  });
});
