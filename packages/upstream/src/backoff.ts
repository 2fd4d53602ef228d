/** Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2^attempt)]. */
export function backoffMs(
  attempt: number,
  baseMs = 200,
  capMs = 5_000,
  random: () => number = Math.random,
): number {
  return Math.round(random() * Math.min(capMs, baseMs * 2 ** Math.max(0, attempt)));
}
