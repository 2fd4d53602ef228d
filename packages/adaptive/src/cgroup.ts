import { stat } from "node:fs/promises";
import { join } from "node:path";
import { readText } from "./proc-stat.js";
import type { ReadText } from "./proc-stat.js";

// Container limits from cgroup files. Every reader takes the filesystem root (default "/") so tests
// can point it at a fake /proc and /sys tree, and a file reader so the sampler can keep its files
// open. None of them throws: a missing or unreadable file means "no limit here".

/** Limits at or above 1 EiB mean "none": cgroup v1 writes LONG_MAX rounded to a page for no limit. */
const NO_LIMIT_BYTES = 2 ** 60;

/**
 * Where this process's cgroup files are. Each list holds paths relative to the controller's mount,
 * the process's own cgroup first, then its ancestors up to the mount root, keeping only those that
 * exist (inside a container the own path usually does not, and the mount root is the container).
 */
export type CgroupLayout =
  | { readonly version: 2; readonly mount: string; readonly groups: readonly string[] }
  | {
      readonly version: 1;
      readonly mount: string;
      readonly cpu: readonly string[];
      readonly cpuacct: readonly string[];
      readonly memory: readonly string[];
    };

export interface CgroupCpu {
  /** The tightest CPU quota in cores (quota / period), null without one. */
  readonly cores: number | null;
  /** Cumulative CPU time (µs) of the group whose quota binds, or of our own group without a quota. */
  readonly usageUsec: number | null;
}

export interface MemoryLimit {
  readonly limitBytes: number;
  /** Working set: usage minus inactive page cache, as `docker stats` and the kubelet count it. */
  readonly usageBytes: number;
}

/** Finds this process's cgroups under `<root>/sys/fs/cgroup`; null when there are none. */
export async function findCgroups(root = "/"): Promise<CgroupLayout | null> {
  const mount = join(root, "sys/fs/cgroup");
  const membership = parseMembership((await readText(join(root, "proc/self/cgroup"))) ?? "");
  // A pure v2 host mounts the unified hierarchy here; hybrid hosts keep v2 under unified/ with no
  // controllers, so they are read as v1.
  if (await exists(join(mount, "cgroup.controllers"))) {
    return { version: 2, mount, groups: await existingGroups(mount, membership.get("") ?? "/") };
  }
  const [cpu, cpuacct, memory] = await Promise.all(
    (["cpu", "cpuacct", "memory"] as const).map((name) =>
      existingGroups(join(mount, name), membership.get(name) ?? "/"),
    ),
  );
  if (cpu === undefined || cpuacct === undefined || memory === undefined) return null;
  if (cpu.length + cpuacct.length + memory.length === 0) return null;
  return { version: 1, mount, cpu, cpuacct, memory };
}

/** CPU quota and usage in one pass, so the usage belongs to the group whose quota binds. */
export async function readCgroupCpu(
  root = "/",
  layout?: CgroupLayout | null,
  read: ReadText = readText,
): Promise<CgroupCpu> {
  const found = layout === undefined ? await findCgroups(root) : layout;
  if (found === null) return { cores: null, usageUsec: null };
  if (found.version === 2) {
    const quotas = await Promise.all(
      found.groups.map(async (group) => parseCpuMax(await read(join(found.mount, group, "cpu.max")))),
    );
    const at = tightest(quotas);
    const group = found.groups[at?.index ?? 0];
    const usage =
      group === undefined ? null : parseKeyed(await read(join(found.mount, group, "cpu.stat")), "usage_usec");
    return { cores: at?.value ?? null, usageUsec: usage };
  }
  const cpuMount = join(found.mount, "cpu");
  const quotas = await Promise.all(
    found.cpu.map(async (group) => {
      const [quota, period] = await Promise.all([
        read(join(cpuMount, group, "cpu.cfs_quota_us")),
        read(join(cpuMount, group, "cpu.cfs_period_us")),
      ]);
      return parseV1Quota(quota, period);
    }),
  );
  const at = tightest(quotas);
  const limited = at === null ? undefined : found.cpu[at.index];
  // cpu and cpuacct are separate hierarchies on v1; read usage at the same path when it exists.
  const group = limited !== undefined && found.cpuacct.includes(limited) ? limited : found.cpuacct[0];
  const usageNs =
    group === undefined
      ? null
      : parseNumber(await read(join(found.mount, "cpuacct", group, "cpuacct.usage")));
  return { cores: at?.value ?? null, usageUsec: usageNs === null ? null : usageNs / 1000 };
}

/** The tightest CPU quota in cores (e.g. 1.5), or null when the process has none. */
export async function readCpuLimit(
  root = "/",
  layout?: CgroupLayout | null,
  read: ReadText = readText,
): Promise<number | null> {
  return (await readCgroupCpu(root, layout, read)).cores;
}

/** Cumulative CPU time (µs) of the group whose quota binds (or of our own group); null outside cgroups. */
export async function readCpuUsageUsec(
  root = "/",
  layout?: CgroupLayout | null,
  read: ReadText = readText,
): Promise<number | null> {
  return (await readCgroupCpu(root, layout, read)).usageUsec;
}

/** The tightest memory limit and the usage of the group that has it; null when there is no limit. */
export async function readMemoryLimit(
  root = "/",
  layout?: CgroupLayout | null,
  read: ReadText = readText,
): Promise<MemoryLimit | null> {
  const found = layout === undefined ? await findCgroups(root) : layout;
  if (found === null) return null;
  const [dir, groups, files] =
    found.version === 2
      ? [found.mount, found.groups, { limit: "memory.max", usage: "memory.current", cache: "inactive_file" }]
      : [
          join(found.mount, "memory"),
          found.memory,
          { limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes", cache: "total_inactive_file" },
        ];
  const limits = await Promise.all(
    groups.map(async (group) => parseBytesLimit(await read(join(dir, group, files.limit)))),
  );
  const at = tightest(limits);
  const group = at === null ? undefined : groups[at.index];
  if (at === null || group === undefined) return null;
  const [usageText, statText] = await Promise.all([
    read(join(dir, group, files.usage)),
    read(join(dir, group, "memory.stat")),
  ]);
  const usage = parseNumber(usageText);
  if (usage === null) return null;
  const inactive = parseKeyed(statText, files.cache) ?? parseKeyed(statText, "inactive_file") ?? 0;
  return { limitBytes: at.value, usageBytes: Math.max(0, usage - inactive) };
}

/** CPU use against a quota, 0-100: `usageUsec` of CPU time over `elapsedMs` of wall time. */
export function quotaCpuPercent(usageUsec: number, elapsedMs: number, cores: number): number {
  if (elapsedMs <= 0 || cores <= 0) return 0;
  return clampPercent((usageUsec / (elapsedMs * 1000 * cores)) * 100);
}

/** Memory use against a limit, 0-100. */
export function limitMemoryPercent(limit: MemoryLimit): number {
  return limit.limitBytes > 0 ? clampPercent((limit.usageBytes / limit.limitBytes) * 100) : 0;
}

/** `cpu.max` holds "<quota|max> <period>". */
export function parseCpuMax(text: string | null): number | null {
  const [quota, period] = (text ?? "").trim().split(/\s+/);
  if (quota === undefined || quota === "max") return null;
  return coresFrom(Number(quota), Number(period ?? 100_000));
}

/** `cpu.cfs_quota_us` is -1 without a quota. */
export function parseV1Quota(quota: string | null, period: string | null): number | null {
  const q = parseNumber(quota);
  const p = parseNumber(period);
  return q === null || p === null ? null : coresFrom(q, p);
}

/** `memory.max` / `memory.limit_in_bytes`: "max" or an absurdly large number mean no limit. */
export function parseBytesLimit(text: string | null): number | null {
  const value = parseNumber(text);
  return value === null || value <= 0 || value >= NO_LIMIT_BYTES ? null : value;
}

/** Which cgroup each controller puts us in, from /proc/self/cgroup ("" is the v2 hierarchy). */
function parseMembership(text: string): Map<string, string> {
  const groups = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, controllers = "", path = "/"] = match;
    for (const name of controllers.split(",")) groups.set(name, path);
  }
  return groups;
}

/** The group and its ancestors up to the mount root, keeping those that exist under `mount`. */
async function existingGroups(mount: string, path: string): Promise<string[]> {
  const parts = path.split("/").filter((part) => part !== "" && part !== "." && part !== "..");
  const candidates = parts.map((_, i) => parts.slice(0, parts.length - i).join("/"));
  candidates.push("");
  const present = await Promise.all(candidates.map((group) => exists(join(mount, group))));
  return candidates.filter((_, i) => present[i] === true);
}

function tightest(values: readonly (number | null)[]): { value: number; index: number } | null {
  let best: { value: number; index: number } | null = null;
  for (const [index, value] of values.entries()) {
    if (value !== null && (best === null || value < best.value)) best = { value, index };
  }
  return best;
}

function coresFrom(quota: number, period: number): number | null {
  return Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : null;
}

/** A "key value" line from a flat-keyed file such as cpu.stat or memory.stat. */
function parseKeyed(text: string | null, key: string): number | null {
  if (text === null) return null;
  const match = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

function parseNumber(text: string | null): number | null {
  const trimmed = text?.trim() ?? "";
  if (!/^-?\d+$/.test(trimmed)) return null;
  return Number(trimmed);
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
