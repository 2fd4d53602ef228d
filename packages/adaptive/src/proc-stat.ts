import { readFile } from "node:fs/promises";
import { cpus as osCpus } from "node:os";
import { join } from "node:path";

/** Reads a whole small text file; null when it is missing or unreadable. Never throws. */
export type ReadText = (path: string) => Promise<string | null>;

export const readText: ReadText = async (path) => {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
};

/** Cumulative CPU time of the whole host, in jiffies (or ms from the os.cpus() fallback). */
export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/**
 * Parses the aggregate `cpu ` line of /proc/stat. Columns: user nice system idle iowait irq softirq
 * steal guest guest_nice; guest time is already counted in user/nice, so it is left out of the total.
 */
export function parseProcStat(text: string): CpuTimes | null {
  const end = text.indexOf("\n");
  const line = end === -1 ? text : text.slice(0, end);
  if (!line.startsWith("cpu ")) return null;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return null;
  const total = fields.reduce((sum, n) => sum + n, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Reads `<root>/proc/stat`; null when it is missing or unreadable (not Linux). Never throws. */
export async function readProcStat(root = "/", read: ReadText = readText): Promise<CpuTimes | null> {
  const text = await read(join(root, "proc/stat"));
  return text === null ? null : parseProcStat(text);
}

export interface MemInfo {
  readonly totalBytes: number;
  readonly availableBytes: number;
}

/** MemTotal and MemAvailable from /proc/meminfo (kB); before Linux 3.14, free + buffers + cache. */
export function parseMemInfo(text: string): MemInfo | null {
  const kib = (key: string): number | null => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text);
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  };
  const totalBytes = kib("MemTotal");
  if (totalBytes === null || totalBytes <= 0) return null;
  const availableBytes =
    kib("MemAvailable") ?? (kib("MemFree") ?? 0) + (kib("Buffers") ?? 0) + (kib("Cached") ?? 0);
  return { totalBytes, availableBytes };
}

/** Reads `<root>/proc/meminfo`; null when it is missing or unreadable (not Linux). Never throws. */
export async function readMemInfo(root = "/", read: ReadText = readText): Promise<MemInfo | null> {
  const text = await read(join(root, "proc/meminfo"));
  return text === null ? null : parseMemInfo(text);
}

/** The same counters from os.cpus(), for hosts without /proc. */
export function osCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of osCpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Host CPU use between two snapshots, 0-100. 0 when no time passed between them. */
export function cpuPercentBetween(a: CpuTimes, b: CpuTimes): number {
  const total = b.total - a.total;
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, ((b.busy - a.busy) / total) * 100));
}
