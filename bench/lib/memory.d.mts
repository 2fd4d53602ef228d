// Types of memory.mjs for the tests that import it.

export function rssMb(pid: number): number | null;
export function redisMemory(redis: unknown): Promise<{ used: number; rss: number }>;
export function mb(bytes: number): number;
