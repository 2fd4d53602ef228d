/** The operator's guide's performance profiles: defaults that follow the machine. */
export const PROFILES = {
  high: { maxConcurrentHot: 12, maxConcurrentCold: 16, maxBatchSize: 150 },
  medium: { maxConcurrentHot: 8, maxConcurrentCold: 12, maxBatchSize: 100 },
  low: { maxConcurrentHot: 4, maxConcurrentCold: 6, maxBatchSize: 50 },
} as const;

export type ProfileName = keyof typeof PROFILES;

export interface MachineFacts {
  /** CPUs this process may use (a container's CPU limit counts). */
  readonly cpus: number;
  /** Memory this process may use, bytes (a container's memory limit counts). */
  readonly memoryBytes: number;
}

const GiB = 1024 ** 3;

/**
 * The guide's table: high needs 4+ cores and 8 GB+, medium 2+ cores and 4 GB+, else low. The
 * weaker of the two decides: a 2-core machine with 24 GB is medium.
 */
export function profileFor(m: MachineFacts): ProfileName {
  // 0.5 GiB of slack: "8 GB" machines report a little under 8 GiB.
  if (m.cpus >= 4 && m.memoryBytes >= 7.5 * GiB) return "high";
  if (m.cpus >= 2 && m.memoryBytes >= 3.5 * GiB) return "medium";
  return "low";
}
