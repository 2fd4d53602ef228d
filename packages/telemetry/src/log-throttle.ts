/**
 * One line per key per interval: a fault that repeats a thousand times a second (Redis out of
 * memory, a flood of connections) logs once, then once per interval with how many it held back.
 * A pure core: the caller passes the clock and does the logging; `last` is what the caller wants
 * to log for the lines held back (the latest one's fields).
 */
export class LogThrottle<T = undefined> {
  private readonly keys = new Map<string, { since: number; held: number; last: T }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** null: hold this line back (it is counted); a number: log it, saying how many were held back before it. */
  admit(key: string, last: T): number | null {
    const at = this.now();
    const k = this.keys.get(key);
    if (k && at - k.since < this.intervalMs) {
      k.held++;
      k.last = last;
      return null;
    }
    this.keys.set(key, { since: at, held: 0, last });
    return k?.held ?? 0;
  }

  /** The keys whose interval has ended with lines held back, with their counts and last lines (then forgotten). */
  drain(): Array<{ key: string; held: number; last: T }> {
    const at = this.now();
    const out: Array<{ key: string; held: number; last: T }> = [];
    for (const [key, k] of this.keys) {
      if (at - k.since < this.intervalMs) continue;
      if (k.held > 0) out.push({ key, held: k.held, last: k.last });
      this.keys.delete(key);
    }
    return out;
  }
}
