import { availableParallelism } from "node:os";
import { mem } from "systeminformation";
import { findCgroups, readCgroupCpu, readMemoryLimit } from "./cgroup.js";
import { readMemInfo } from "./proc-stat.js";

/** What this process may use: the host, narrowed by its container's limits. */
export interface Machine {
  /** CPUs by affinity, capped by a cgroup CPU quota; fractional under a fractional quota (1.5). */
  readonly cpus: number;
  /** Host memory (MemTotal, as si.mem().total reports it), capped by a cgroup memory limit. */
  readonly memoryBytes: number;
  /** A cgroup limit is tighter than the host's CPUs or memory. */
  readonly containerLimited: boolean;
}

export interface DetectMachineOptions {
  /** Filesystem root holding proc/ and sys/fs/cgroup/; tests point it at a fake tree. */
  readonly root?: string;
}

export type Profile = "high" | "medium" | "low";

export interface ProfileLimits {
  readonly maxConcurrentHot: number;
  readonly maxConcurrentCold: number;
  readonly maxBatchSize: number;
}

/** The guide's Performance Profiles. */
export const PROFILES = {
  high: { maxConcurrentHot: 12, maxConcurrentCold: 16, maxBatchSize: 150 },
  medium: { maxConcurrentHot: 8, maxConcurrentCold: 12, maxBatchSize: 100 },
  low: { maxConcurrentHot: 4, maxConcurrentCold: 6, maxBatchSize: 50 },
} as const satisfies Record<Profile, ProfileLimits>;

const GIB = 1024 ** 3;
// The kernel keeps part of RAM for itself, so an "8 GB" VM reports ~7.6 GiB total. Counting 90% of
// a nominal size as that size keeps such a box in its class; container limits are exact anyway.
const NOMINAL_SHARE = 0.9;

export async function detectMachine(opts: DetectMachineOptions = {}): Promise<Machine> {
  const root = opts.root ?? "/";
  const layout = await findCgroups(root);
  const [cpu, memoryLimit, hostMemory] = await Promise.all([
    readCgroupCpu(root, layout),
    readMemoryLimit(root, layout),
    hostMemoryBytes(root),
  ]);
  const hostCpus = availableParallelism();
  const cpuLimited = cpu.cores !== null && cpu.cores < hostCpus;
  const memoryLimited = memoryLimit !== null && memoryLimit.limitBytes < hostMemory;
  return {
    cpus: cpuLimited && cpu.cores !== null ? cpu.cores : hostCpus,
    memoryBytes: memoryLimited ? memoryLimit.limitBytes : hostMemory,
    containerLimited: cpuLimited || memoryLimited,
  };
}

/** /proc/meminfo under the injected root; systeminformation where there is no /proc. */
async function hostMemoryBytes(root: string): Promise<number> {
  return (await readMemInfo(root))?.totalBytes ?? (await mem()).total;
}

/** The guide's table, where the weaker of cores and memory decides: 8 cores with 4 GB is "medium". */
export function profileFor(machine: Pick<Machine, "cpus" | "memoryBytes">): Profile {
  const hasMemory = (gib: number): boolean => machine.memoryBytes >= gib * GIB * NOMINAL_SHARE;
  if (machine.cpus >= 4 && hasMemory(8)) return "high";
  if (machine.cpus >= 2 && hasMemory(4)) return "medium";
  return "low";
}
