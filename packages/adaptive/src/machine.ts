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
