export const DEFAULT_WINDOW_MS = 60_000;

/**
 * A sliding 60 s window per client key, like DexScreener's per-IP limit. Only admitted requests
 * count, so a client that backs off as told gets back in.
 */
export class SlidingWindowLimiter {
  readonly #admitted = new Map<string, number[]>();

  /** Admits the request (returns 0) or returns the ms until a slot frees up. */
  take(key: string, limit: number, now: number, windowMs: number = DEFAULT_WINDOW_MS): number {
    if (limit <= 0) return 0;
    let times = this.#admitted.get(key);
    if (times === undefined) {
      times = [];
      this.#admitted.set(key, times);
    }
    let expired = 0;
    while (expired < times.length && (times[expired] ?? 0) <= now - windowMs) expired++;
    if (expired > 0) times.splice(0, expired);
    if (times.length >= limit) {
      const oldest = times[times.length - limit] ?? now;
      return Math.max(1, oldest + windowMs - now);
    }
    times.push(now);
    return 0;
  }

  reset(): void {
    this.#admitted.clear();
  }
}
