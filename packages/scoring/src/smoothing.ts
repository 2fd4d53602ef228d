import type { Scores } from "./score.js";

export const DEFAULT_ALPHA = 0.3;

const KEYS = ["txAccel", "volMomentum", "freshness", "orderflow", "score"] as const;

export class InvalidAlphaError extends RangeError {
  constructor(alpha: number) {
    super(`EWMA alpha must be in (0, 1], got ${alpha}`);
    this.name = "InvalidAlphaError";
  }
}

/**
 * EWMA of each component and of the score: alpha * raw + (1 - alpha) * previous. With no previous
 * value (first run) the raw value is the smoothed one; a non-finite previous value is treated the same.
 */
export function smooth(raw: Scores, previous: Scores | null, alpha = DEFAULT_ALPHA): Scores {
  if (!(alpha > 0 && alpha <= 1)) throw new InvalidAlphaError(alpha);
  const out = { ...raw };
  if (previous === null) return out;
  for (const key of KEYS) {
    const prev = previous[key];
    if (Number.isFinite(prev)) out[key] = alpha * raw[key] + (1 - alpha) * prev;
  }
  return out;
}
