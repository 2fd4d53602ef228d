import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { mem } from "systeminformation";
import {
  findCgroups,
  limitMemoryPercent,
  quotaCpuPercent,
  readCgroupCpu,
  readMemoryLimit,
} from "./cgroup.js";
import { cpuPercentBetween, osCpuTimes, readMemInfo, readProcStat } from "./proc-stat.js";
import type { CpuTimes, ReadText } from "./proc-stat.js";
import type { Readings } from "@moonfleet/domain";

// The thin shell that turns counters into Readings. Everything is an async read of a small virtual
// file or a counter the runtime already keeps. systeminformation's currentLoad() is avoided (it
// blocks the event loop for milliseconds per call) and so is si.mem() while /proc/meminfo can be
// read directly (its parsing costs ~5x a direct read; bench/sampler-cost.mjs).

const LOOP_RESOLUTION_MS = 10;
/** /proc/stat counts in 10 ms ticks, so a shorter window is mostly rounding noise. */
const MIN_CPU_WINDOW_MS = 100;
/** Enough for the first line of /proc/stat and all of meminfo, memory.stat and the cgroup files. */
const READ_BYTES = 16 * 1024;

export interface SamplerOptions {
  /** Filesystem root holding proc/ and sys/fs/cgroup/ (default "/"); tests point it at a fake tree. */
  readonly root?: string;
  /**
   * Epoch ms for `Readings.at`, also used to time the interval that turns CPU-time counters into
   * percentages (default Date.now; a clock jump skews one sample and is clamped).
   */
  readonly now?: () => number;
}

export interface Sampler {
  /**
   * Readings since the previous sample. CPU figures cover at least 100 ms: the first window starts
   * at createSampler(), and a sample sooner than that repeats the last CPU figures (0 at first).
   * Memory, event-loop delay and the rest are fresh every time.
   */
  sample(): Promise<Readings>;
  /** Stops the event-loop delay monitor and closes the files; later samples reject with SamplerClosedError. */
  close(): void;
}

export class SamplerClosedError extends Error {
  override readonly name = "SamplerClosedError";
}

interface CpuSnapshot {
  readonly at: number;
  readonly host: CpuTimes;
  readonly cgroup: { readonly cores: number | null; readonly usageUsec: number | null };
  readonly process: NodeJS.CpuUsage;
}

export function createSampler(opts: SamplerOptions = {}): Sampler {
  const root = opts.root ?? "/";
  const now = opts.now ?? Date.now;
  const hostCpus = availableParallelism();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const files = openFiles();
  const read = files.read;

  // Resolved once: which cgroups we are in does not change; the limit files are re-read each sample.
  const layout = findCgroups(root);
  const snapshot = async (): Promise<CpuSnapshot> => {
    const at = now();
    const processUsage = process.cpuUsage();
    const [host, cgroup] = await Promise.all([
      readProcStat(root, read),
      readCgroupCpu(root, await layout, read),
    ]);
    return { at, host: host ?? osCpuTimes(), cgroup, process: processUsage };
  };
  // The readers never throw, so this priming snapshot cannot reject unobserved.
  const primed = snapshot();
  let previous: CpuSnapshot | null = null;
  let cpu = { host: 0, process: 0 };
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const memoryPercent = async (): Promise<number> => {
    const [host, limit] = await Promise.all([hostMemory(), readMemoryLimit(root, await layout, read)]);
    // A limit above the host's RAM never binds; the host's own pressure is the real constraint.
    if (limit !== null && limit.limitBytes < host.totalBytes) return limitMemoryPercent(limit);
    const used = host.totalBytes - host.availableBytes;
    return host.totalBytes > 0 ? clampPercent((used / host.totalBytes) * 100) : 0;
  };

  const hostMemory = async (): Promise<{ totalBytes: number; availableBytes: number }> => {
    const info = await readMemInfo(root, read);
    if (info !== null) return info;
    const { total, available } = await mem();
    return { totalBytes: total, availableBytes: available };
  };

  const readLoopDelay = (): { p99Ms: number; meanMs: number } => {
    if (loopDelay.count === 0) return { p99Ms: 0, meanMs: 0 };
    // The histogram records whole timer intervals; the delay is what exceeds the resolution.
    const p99Ms = Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS);
    const meanMs = Math.max(0, loopDelay.mean / 1e6 - LOOP_RESOLUTION_MS);
    loopDelay.reset();
    return { p99Ms, meanMs };
  };

  const take = async (): Promise<Readings> => {
    const before = previous ?? (await primed);
    const [current, memory] = await Promise.all([snapshot(), memoryPercent()]);
    const elapsedMs = current.at - before.at;
    if (elapsedMs >= MIN_CPU_WINDOW_MS) {
      cpu = cpuBetween(before, current, elapsedMs, hostCpus);
      previous = current;
    } else if (elapsedMs < 0) {
      // The clock went back: start a new window rather than wait for it to catch up.
      previous = current;
    }
    const delay = readLoopDelay();
    const { rss, heapUsed } = process.memoryUsage();
    return {
      at: current.at,
      cpuPercent: cpu.host,
      memoryPercent: memory,
      processCpuPercent: cpu.process,
      eventLoopDelayP99Ms: delay.p99Ms,
      eventLoopDelayMeanMs: delay.meanMs,
      rssBytes: rss,
      heapUsedBytes: heapUsed,
      // Load average counts runnable tasks host-wide, so it is divided by the CPUs we can be
      // scheduled on, not by a quota; quota saturation shows in cpuPercent.
      loadPerCpu: (loadavg()[0] ?? 0) / hostCpus,
    };
  };

  return {
    sample() {
      if (closed) return Promise.reject(new SamplerClosedError("sampler is closed"));
      // Samples run one at a time, so each delta spans exactly one interval.
      const result = queue.then(take);
      queue = result.catch(() => undefined);
      return result;
    },
    close() {
      closed = true;
      loopDelay.disable();
      files.close();
    },
  };
}

/**
 * Reads virtual files through handles kept open, re-reading from offset 0 (procfs and cgroupfs
 * regenerate the content): one thread-pool round trip per read instead of readFile's four or five,
 * about a tenth of the event-loop time. A file that does not exist is not looked for again.
 */
function openFiles(): { read: ReadText; close(): void } {
  const handles = new Map<string, Promise<FileHandle | null>>();
  let closed = false;

  const read: ReadText = async (path) => {
    if (closed) return null;
    let handle = handles.get(path);
    if (handle === undefined) {
      handle = open(path, "r").catch((error: unknown) => {
        if (!isMissing(error)) handles.delete(path);
        return null;
      });
      handles.set(path, handle);
    }
    const file = await handle;
    if (file === null) return null;
    try {
      const buffer = Buffer.allocUnsafe(READ_BYTES);
      const { bytesRead } = await file.read(buffer, 0, READ_BYTES, 0);
      return buffer.toString("utf8", 0, bytesRead);
    } catch {
      handles.delete(path);
      file.close().catch(() => undefined);
      return null;
    }
  };

  return {
    read,
    close() {
      closed = true;
      for (const handle of handles.values()) {
        void handle.then((file) => file?.close()).catch(() => undefined);
      }
      handles.clear();
    },
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function cpuBetween(
  before: CpuSnapshot,
  current: CpuSnapshot,
  elapsedMs: number,
  hostCpus: number,
): { host: number; process: number } {
  const { cores, usageUsec } = current.cgroup;
  // A quota at or above the host's CPUs never binds, so the host's own counters say more.
  const quotaBinds = cores !== null && cores < hostCpus;
  const host =
    quotaBinds && usageUsec !== null && before.cgroup.usageUsec !== null
      ? quotaCpuPercent(usageUsec - before.cgroup.usageUsec, elapsedMs, cores)
      : cpuPercentBetween(before.host, current.host);
  const processUsec =
    current.process.user - before.process.user + (current.process.system - before.process.system);
  return { host, process: Math.max(0, (processUsec / (elapsedMs * 1000)) * 100) };
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}
