/** Significant digits a non-integer keeps in JSON: float noise (0.07150000000000001) sits past 15. */
export const JSON_SIGNIFICANT_DIGITS = 12;

/**
 * The JSON replacer of every answer (Express's "json replacer" and the streamed exports): a
 * fraction is written with 12 significant digits, so 0.1 + 0.2 reads 0.3. Integers (epoch ms,
 * counts) pass as they are.
 */
export function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value !== "number" || Number.isInteger(value) || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(JSON_SIGNIFICANT_DIGITS));
}
