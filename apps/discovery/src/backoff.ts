/** Reconnect delays: 1 s, 2 s, 4 s, 8 s, then 10 s, each plus up to 0.5 s of jitter. */
export const RECONNECT_MIN_MS = 1_000;
export const RECONNECT_MAX_MS = 10_000;
export const RECONNECT_JITTER_MS = 500;

/** The wait before reconnect attempt `attempt` (0 for the first after a drop); `random` in [0, 1). */
export function reconnectDelayMs(attempt: number, random: number): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.max(0, Math.min(attempt, 20)));
  return base + Math.floor(Math.max(0, Math.min(random, 0.999)) * RECONNECT_JITTER_MS);
}
