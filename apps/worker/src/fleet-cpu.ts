import { readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import type { Redis } from "@moonfleet/queues";
import { liveWorkers } from "@moonfleet/store";

/**
 * The kernel this process runs on: its boot id, the same in every container on one host (a
 * container's hostname is its own), or the hostname where /proc does not say.
 */
export function kernelId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || hostname();
  } catch {
    return hostname();
  }
}

/** Redis's own CPU seconds (user + system) from INFO cpu, or null when it does not say. */
export function parseRedisCpuSeconds(info: string): number | null {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:([0-9.]+)`, "m").exec(info);
    return m ? Number(m[1]) : null;
  };
  const user = field("used_cpu_user");
  const sys = field("used_cpu_sys");
  return user === null || sys === null ? null : user + sys;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** A Redis reached over loopback or a unix socket runs on this host: its CPU is the fleet's. */
function redisIsLocal(redis: Redis): boolean {
  const o = redis.options as { host?: string; path?: string };
  return Boolean(o.path) || LOOPBACK.test(o.host ?? "");
}

export interface FleetCpuReader {
  /**
   * moonfleet's share of the host's CPUs (0-100): this process (`ownProcessPercent`, of one core),
   * the other live workers on the same kernel (their last heartbeat) and a Redis on this host.
   */
  read(ownProcessPercent: number, now: number, heartbeatTtlMs: number): Promise<number>;
}

export function createFleetCpuReader(deps: {
  readonly redis: Redis;
  readonly prefix: () => string;
  readonly id: string;
  readonly kernel: string;
  readonly cores?: number;
}): FleetCpuReader {
  const cores = deps.cores ?? availableParallelism();
  const local = redisIsLocal(deps.redis);
  let lastRedis: { at: number; seconds: number } | null = null;

  async function redisPercent(now: number): Promise<number> {
    if (!local) return 0;
    const seconds = parseRedisCpuSeconds(await deps.redis.info("cpu"));
    if (seconds === null) return 0;
    const previous = lastRedis;
    lastRedis = { at: now, seconds };
    if (!previous || now <= previous.at) return 0;
    return Math.max(0, ((seconds - previous.seconds) / ((now - previous.at) / 1000)) * 100);
  }

  return {
    async read(ownProcessPercent, now, ttlMs) {
      const [workers, redisCpu] = await Promise.all([
        liveWorkers(deps.redis, deps.prefix(), now, ttlMs),
        redisPercent(now),
      ]);
      let ofOneCore = ownProcessPercent + redisCpu;
      for (const hb of workers) {
        if (hb.id === deps.id || hb.kernel !== deps.kernel) continue;
        ofOneCore += hb.readings.processCpuPercent ?? 0;
      }
      return Math.min(100, ofOneCore / cores);
    },
  };
}
