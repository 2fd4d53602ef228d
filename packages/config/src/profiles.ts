/** The performance profiles (the README's Configuration section): defaults that follow the machine. */
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
 * The profile table: high needs 4+ cores and 8 GB+, medium 2+ cores and 4 GB+, else low. The
 * weaker of the two decides: a 2-core machine with 24 GB is medium.
 */
export function profileFor(m: MachineFacts): ProfileName {
  // The kernel keeps part of RAM for itself, so an "8 GB" VM reports ~7.6 GiB: 90% of a nominal
  // size counts as that size. Container limits are exact anyway.
  const hasMemory = (gib: number) => m.memoryBytes >= gib * GiB * 0.9;
  if (m.cpus >= 4 && hasMemory(8)) return "high";
  if (m.cpus >= 2 && hasMemory(4)) return "medium";
  return "low";
}
