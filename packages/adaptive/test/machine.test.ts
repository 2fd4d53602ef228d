import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PROFILES, profileFor } from "@moonfleet/config";
import { detectMachine } from "../src/machine.js";

const GIB = 1024 ** 3;

const roots: string[] = [];

afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "moonfleet-machine-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

describe("profileFor", () => {
  it.each([
    [1, 2, "low"],
    [2, 24, "medium"],
    [8, 4, "medium"],
    [4, 8, "high"],
    [3, 8, "medium"],
    [4, 4, "medium"],
    [2, 3, "low"],
    [1, 64, "low"],
    [1.5, 16, "low"],
    [64, 256, "high"],
  ] as const)("%s cores with %s GiB is %s", (cpus, gib, profile) => {
    expect(profileFor({ cpus, memoryBytes: gib * GIB })).toBe(profile);
  });

  it("keeps an 8 GB VM that reports 7.6 GiB to the kernel in its class, but not a 7 GiB one", () => {
    expect(profileFor({ cpus: 4, memoryBytes: 7.6 * GIB })).toBe("high");
    expect(profileFor({ cpus: 4, memoryBytes: 7 * GIB })).toBe("medium");
  });

  it("maps each profile to its limits in the profile table", () => {
    expect(PROFILES).toEqual({
      high: { maxConcurrentHot: 12, maxConcurrentCold: 16, maxBatchSize: 150 },
      medium: { maxConcurrentHot: 8, maxConcurrentCold: 12, maxBatchSize: 100 },
      low: { maxConcurrentHot: 4, maxConcurrentCold: 6, maxBatchSize: 50 },
    });
  });
});

describe("detectMachine", () => {
  it("caps CPUs and memory by the container's limits", async () => {
    const root = await fakeRoot({
      "proc/meminfo": "MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\n",
      "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
      "sys/fs/cgroup/cpu.max": "50000 100000\n",
      "sys/fs/cgroup/memory.max": `${GIB}\n`,
      "sys/fs/cgroup/memory.current": `${GIB / 4}\n`,
    });
    const machine = await detectMachine({ root });
    expect(machine).toEqual({ cpus: 0.5, memoryBytes: GIB, containerLimited: true });
    expect(profileFor(machine)).toBe("low");
  });

  it("ignores limits larger than the host", async () => {
    const root = await fakeRoot({
      "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
      "sys/fs/cgroup/cpu.max": "100000000 100000\n",
      "sys/fs/cgroup/memory.max": `${1024 * 1024 * GIB}\n`,
      "sys/fs/cgroup/memory.current": "0\n",
    });
    const machine = await detectMachine({ root });
    expect(machine.cpus).toBe(availableParallelism());
    expect(machine.containerLimited).toBe(false);
  });

  it("uses the host outside cgroups", async () => {
    const root = await fakeRoot({ "proc/meminfo": "MemTotal: 4194304 kB\nMemAvailable: 1048576 kB\n" });
    const machine = await detectMachine({ root });
    expect(machine).toEqual({ cpus: availableParallelism(), memoryBytes: 4 * GIB, containerLimited: false });
  });

  it("falls back to systeminformation without /proc/meminfo", async () => {
    const machine = await detectMachine({ root: await fakeRoot({}) });
    expect(machine.memoryBytes).toBeGreaterThan(0);
  });

  it("describes this machine", async () => {
    const machine = await detectMachine();
    expect(machine.cpus).toBeGreaterThan(0);
    expect(machine.cpus).toBeLessThanOrEqual(availableParallelism());
    expect(Number.isFinite(machine.memoryBytes)).toBe(true);
    expect(machine.memoryBytes).toBeGreaterThan(0);
    expect(["high", "medium", "low"]).toContain(profileFor(machine));
  });
});
