import type { Readings } from "@moonfleet/domain";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import {
  findCgroups,
  limitMemoryPercent,
  parseBytesLimit,
  quotaCpuPercent,
  readCgroupCpu,
  readCpuLimit,
  readCpuUsageUsec,
  readMemoryLimit,
} from "../src/cgroup.js";
import {
  cpuPercentBetween,
  parseMemInfo,
  parseProcStat,
  readMemInfo,
  readProcStat,
} from "../src/proc-stat.js";
import { createSampler, SamplerClosedError } from "../src/sampler.js";
import type { Sampler } from "../src/sampler.js";

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** user nice system idle iowait irq softirq steal guest guest_nice */
const statLine = (user: number, system: number, idle: number, iowait = 0, guest = 0): string =>
  `cpu  ${user} 0 ${system} ${idle} ${iowait} 0 0 0 ${guest} 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n`;

const meminfo = (totalKib: number, availableKib: number): string =>
  `MemTotal:       ${totalKib} kB\nMemFree:         1000 kB\nMemAvailable:   ${availableKib} kB\nBuffers:           0 kB\n`;

const roots: string[] = [];
const samplers: Sampler[] = [];

afterEach(async () => {
  for (const sampler of samplers.splice(0)) sampler.close();
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

/** A fake filesystem root: { "proc/stat": "...", "sys/fs/cgroup/cpu.max": "..." }. */
async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "moonfleet-sampler-"));
  roots.push(root);
  await writeTree(root, files);
  return root;
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

function expectSane(readings: Readings): void {
  for (const value of Object.values(readings)) expect(Number.isFinite(value)).toBe(true);
  expect(readings.cpuPercent).toBeGreaterThanOrEqual(0);
  expect(readings.cpuPercent).toBeLessThanOrEqual(100);
  expect(readings.memoryPercent).toBeGreaterThan(0);
  expect(readings.memoryPercent).toBeLessThanOrEqual(100);
  expect(readings.processCpuPercent).toBeGreaterThanOrEqual(0);
  expect(readings.eventLoopDelayP99Ms).toBeGreaterThanOrEqual(0);
  expect(readings.eventLoopDelayMeanMs).toBeGreaterThanOrEqual(0);
  expect(readings.rssBytes).toBeGreaterThan(0);
  expect(readings.heapUsedBytes).toBeGreaterThan(0);
  expect(readings.loadPerCpu).toBeGreaterThanOrEqual(0);
}

describe("/proc/stat", () => {
  it("turns the cpu line into busy and total jiffies, idle including iowait", () => {
    expect(parseProcStat(statLine(100, 50, 800, 50))).toEqual({ busy: 150, total: 1000 });
  });

  it("leaves guest time out, since user time already counts it", () => {
    expect(parseProcStat(statLine(100, 50, 800, 50, 40))).toEqual({ busy: 150, total: 1000 });
  });

  it("rejects text without an aggregate cpu line", () => {
    expect(parseProcStat("cpu0 1 2 3 4\n")).toBeNull();
    expect(parseProcStat("")).toBeNull();
  });

  it("gives CPU percent between two snapshots", () => {
    const a = parseProcStat(statLine(100, 50, 800, 50));
    const b = parseProcStat(statLine(300, 100, 1000, 100));
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    if (a === null || b === null) return;
    expect(cpuPercentBetween(a, b)).toBeCloseTo(50);
    expect(cpuPercentBetween(a, a)).toBe(0);
  });

  it("reads the file under an injected root, null when it is missing", async () => {
    const root = await fakeRoot({ "proc/stat": statLine(10, 10, 80) });
    expect(await readProcStat(root)).toEqual({ busy: 20, total: 100 });
    expect(await readProcStat(join(root, "nowhere"))).toBeNull();
  });
});

describe("/proc/meminfo", () => {
  it("gives total and available bytes", () => {
    expect(parseMemInfo(meminfo(8 * 1024 * 1024, 6 * 1024 * 1024))).toEqual({
      totalBytes: 8 * GIB,
      availableBytes: 6 * GIB,
    });
  });

  it("estimates available memory on kernels without MemAvailable", () => {
    const text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n";
    expect(parseMemInfo(text)).toEqual({ totalBytes: 1000 * 1024, availableBytes: 400 * 1024 });
  });

  it("reads the file under an injected root, null when it is missing", async () => {
    const root = await fakeRoot({ "proc/meminfo": meminfo(2048, 1024) });
    expect(await readMemInfo(root)).toEqual({ totalBytes: 2048 * 1024, availableBytes: 1024 * 1024 });
    expect(await readMemInfo(join(root, "nowhere"))).toBeNull();
  });
});

describe("cgroup v2", () => {
  const v2 = (files: Record<string, string>): Record<string, string> => ({
    "sys/fs/cgroup/cgroup.controllers": "cpu memory pids\n",
    ...files,
  });

  it("turns a CPU quota into cores", async () => {
    const root = await fakeRoot(v2({ "sys/fs/cgroup/cpu.max": "150000 100000\n" }));
    expect(await readCpuLimit(root)).toBe(1.5);
  });

  it('reads "max" as no CPU limit', async () => {
    const root = await fakeRoot(v2({ "sys/fs/cgroup/cpu.max": "max 100000\n" }));
    expect(await readCpuLimit(root)).toBeNull();
  });

  it("reads CPU usage from cpu.stat", async () => {
    const root = await fakeRoot(
      v2({ "sys/fs/cgroup/cpu.stat": "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n" }),
    );
    expect(await readCpuUsageUsec(root)).toBe(123456);
  });

  it("turns CPU time against a quota into percent", () => {
    // 0.5 s of CPU in 1 s on a 2-core quota is a quarter of it.
    expect(quotaCpuPercent(500_000, 1000, 2)).toBeCloseTo(25);
    expect(quotaCpuPercent(500_000, 0, 2)).toBe(0);
  });

  it("reads a memory limit with the working set as usage", async () => {
    const root = await fakeRoot(
      v2({
        "sys/fs/cgroup/memory.max": `${GIB}\n`,
        "sys/fs/cgroup/memory.current": `${300 * MIB}\n`,
        "sys/fs/cgroup/memory.stat": `anon ${200 * MIB}\ninactive_file ${44 * MIB}\nactive_file 0\n`,
      }),
    );
    const limit = await readMemoryLimit(root);
    expect(limit).toEqual({ limitBytes: GIB, usageBytes: 256 * MIB });
    if (limit !== null) expect(limitMemoryPercent(limit)).toBeCloseTo(25);
  });

  it('reads "max" and absurdly large values as no memory limit', async () => {
    const root = await fakeRoot(
      v2({ "sys/fs/cgroup/memory.max": "max\n", "sys/fs/cgroup/memory.current": "1000\n" }),
    );
    expect(await readMemoryLimit(root)).toBeNull();
    expect(parseBytesLimit("9223372036854771712")).toBeNull();
    expect(parseBytesLimit("max")).toBeNull();
    expect(parseBytesLimit(`${2 * GIB}`)).toBe(2 * GIB);
  });

  it("follows /proc/self/cgroup and takes the tightest limit among the ancestors", async () => {
    const root = await fakeRoot(
      v2({
        "proc/self/cgroup": "0::/system.slice/moonfleet.service\n",
        "sys/fs/cgroup/system.slice/cpu.max": "100000 100000\n",
        "sys/fs/cgroup/system.slice/cpu.stat": "usage_usec 900\n",
        "sys/fs/cgroup/system.slice/moonfleet.service/cpu.max": "300000 100000\n",
        "sys/fs/cgroup/system.slice/moonfleet.service/cpu.stat": "usage_usec 400\n",
      }),
    );
    expect(await findCgroups(root)).toMatchObject({
      version: 2,
      groups: ["system.slice/moonfleet.service", "system.slice", ""],
    });
    expect(await readCgroupCpu(root)).toEqual({ cores: 1, usageUsec: 900 });
  });

  it("finds nothing outside cgroups", async () => {
    const root = await fakeRoot({ "proc/stat": statLine(1, 1, 1) });
    expect(await findCgroups(root)).toBeNull();
    expect(await readCgroupCpu(root)).toEqual({ cores: null, usageUsec: null });
    expect(await readMemoryLimit(root)).toBeNull();
  });
});

describe("cgroup v1", () => {
  it("reads the CFS quota, cpuacct usage and the memory limit", async () => {
    const root = await fakeRoot({
      "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000\n",
      "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
      "sys/fs/cgroup/cpuacct/cpuacct.usage": "2500000\n",
      "sys/fs/cgroup/memory/memory.limit_in_bytes": `${512 * MIB}\n`,
      "sys/fs/cgroup/memory/memory.usage_in_bytes": `${200 * MIB}\n`,
      "sys/fs/cgroup/memory/memory.stat": `inactive_file ${MIB}\ntotal_inactive_file ${72 * MIB}\n`,
    });
    expect(await readCgroupCpu(root)).toEqual({ cores: 0.5, usageUsec: 2500 });
    expect(await readMemoryLimit(root)).toEqual({ limitBytes: 512 * MIB, usageBytes: 128 * MIB });
  });

  it("reads a quota of -1 and the page-rounded LONG_MAX as no limits", async () => {
    const root = await fakeRoot({
      "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
      "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
      "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
      "sys/fs/cgroup/memory/memory.usage_in_bytes": "1000\n",
    });
    expect(await readCpuLimit(root)).toBeNull();
    expect(await readMemoryLimit(root)).toBeNull();
  });
});

describe("createSampler on a fake tree", () => {
  it("primes on the first sample, then gives host CPU from /proc/stat deltas", async () => {
    let clock = 1_000_000;
    const root = await fakeRoot({ "proc/stat": statLine(100, 50, 800, 50) });
    const sampler = createSampler({ root, now: () => clock });
    samplers.push(sampler);

    const first = await sampler.sample();
    expect(first.at).toBe(1_000_000);
    expect(first.cpuPercent).toBe(0);

    await writeTree(root, { "proc/stat": statLine(300, 100, 1000, 100) });
    clock += 1000;
    const second = await sampler.sample();
    expect(second.at).toBe(1_001_000);
    expect(second.cpuPercent).toBeCloseTo(50);
  });

  it("repeats the last CPU figure when sampled again within 100 ms", async () => {
    let clock = 0;
    const root = await fakeRoot({ "proc/stat": statLine(100, 0, 100) });
    const sampler = createSampler({ root, now: () => clock });
    samplers.push(sampler);
    await sampler.sample();
    await writeTree(root, { "proc/stat": statLine(150, 0, 150) });
    clock += 1000;
    expect((await sampler.sample()).cpuPercent).toBeCloseTo(50);

    await writeTree(root, { "proc/stat": statLine(250, 0, 150) });
    clock += 10;
    expect((await sampler.sample()).cpuPercent).toBeCloseTo(50);
    clock += 990;
    expect((await sampler.sample()).cpuPercent).toBeCloseTo(100);
  });

  it("measures CPU against a container quota smaller than the host", async () => {
    let clock = 0;
    const cgroup = (usageUsec: number): Record<string, string> => ({
      "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
      "sys/fs/cgroup/cpu.max": "50000 100000\n",
      "sys/fs/cgroup/cpu.stat": `usage_usec ${usageUsec}\n`,
    });
    const root = await fakeRoot({ "proc/stat": statLine(0, 0, 100), ...cgroup(1_000_000) });
    const sampler = createSampler({ root, now: () => clock });
    samplers.push(sampler);
    await sampler.sample();

    // 0.25 s of CPU in 1 s on a half-core quota; the host counters say idle and are ignored.
    await writeTree(root, { "proc/stat": statLine(0, 0, 200), ...cgroup(1_250_000) });
    clock += 1000;
    expect((await sampler.sample()).cpuPercent).toBeCloseTo(50);
  });

  it("gives host memory in use from /proc/meminfo", async () => {
    const root = await fakeRoot({
      "proc/stat": statLine(1, 1, 1),
      "proc/meminfo": meminfo(8 << 20, 6 << 20),
    });
    const sampler = createSampler({ root });
    samplers.push(sampler);
    expect((await sampler.sample()).memoryPercent).toBeCloseTo(25);
  });

  it("gives memory as percent of a container limit below the host's RAM", async () => {
    const root = await fakeRoot({
      "proc/stat": statLine(1, 1, 1),
      "proc/meminfo": meminfo(8 << 20, 7 << 20),
      "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
      "sys/fs/cgroup/memory.max": `${GIB}\n`,
      "sys/fs/cgroup/memory.current": `${800 * MIB}\n`,
    });
    const sampler = createSampler({ root });
    samplers.push(sampler);
    expect((await sampler.sample()).memoryPercent).toBeCloseTo(78.125);

    await writeTree(root, { "sys/fs/cgroup/memory.current": `${256 * MIB}\n` });
    expect((await sampler.sample()).memoryPercent).toBeCloseTo(25);
  });

  it("ignores a memory limit above the host's RAM", async () => {
    const root = await fakeRoot({
      "proc/stat": statLine(1, 1, 1),
      "proc/meminfo": meminfo(1 << 20, 1 << 19),
      "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
      "sys/fs/cgroup/memory.max": `${2 * GIB}\n`,
      "sys/fs/cgroup/memory.current": `${2 * GIB - MIB}\n`,
    });
    const sampler = createSampler({ root });
    samplers.push(sampler);
    expect((await sampler.sample()).memoryPercent).toBeCloseTo(50);
  });

  it("rejects samples after close", async () => {
    const sampler = createSampler();
    sampler.close();
    await expect(sampler.sample()).rejects.toBeInstanceOf(SamplerClosedError);
  });
});

describe("createSampler on this machine", () => {
  it("gives finite readings in range", async () => {
    const sampler = createSampler();
    samplers.push(sampler);
    await sleep(200);
    expectSane(await sampler.sample());
    await sleep(200);
    expectSane(await sampler.sample());
  });

  it("sees a busy worker thread as more CPU than an idle interval", async () => {
    const sampler = createSampler();
    samplers.push(sampler);
    await sleep(300);
    await sampler.sample();
    await sleep(500);
    const idle = await sampler.sample();

    const worker = new Worker("const end = Date.now() + 1000; while (Date.now() < end) {}", { eval: true });
    await new Promise((resolve, reject) => {
      worker.once("exit", resolve);
      worker.once("error", reject);
    });
    const busy = await sampler.sample();

    expectSane(busy);
    // A spinning thread is most of one core for the window; noise from neighbours is far smaller.
    const processRose = busy.processCpuPercent > idle.processCpuPercent + 30;
    const hostRose = busy.cpuPercent > idle.cpuPercent + 15;
    expect(processRose || hostRose).toBe(true);
  }, 15_000);
});
