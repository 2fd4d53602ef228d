// Memory readings shared by the bench, the soak and the chaos run: a process's resident set from
// /proc, and Redis's own INFO memory figures.

import { readFileSync } from "node:fs";

/** Resident set size of a process in MB (VmRSS, one decimal), null when it is gone. */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** Redis's used_memory (what the data takes) and used_memory_rss, in bytes. */
export async function redisMemory(redis) {
  const info = await redis.info("memory");
  const field = (name) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0);
  return { used: field("used_memory"), rss: field("used_memory_rss") };
}

/**
 * Where Redis spent its time since the last CONFIG RESETSTAT: each command's calls and
 * microseconds (INFO commandstats; a script's commands count inside EVALSHA/FCALL, not apart).
 */
export async function redisCommandTime(redis) {
  const info = await redis.info("commandstats");
  const out = {};
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g))
    out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}

/** Bytes as MB with one decimal. */
export const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
