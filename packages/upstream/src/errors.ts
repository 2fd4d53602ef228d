/** Base of every upstream failure; `retryable` tells a worker whether another try can help. */
export class UpstreamError extends Error {
  readonly retryable: boolean = true;
}

export class UpstreamTimeoutError extends UpstreamError {
  override name = "UpstreamTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`upstream did not answer within ${timeoutMs} ms`);
  }
}

export class UpstreamRateLimitedError extends UpstreamError {
  override name = "UpstreamRateLimitedError";
  constructor(
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(`upstream rate limit: retry after ${retryAfterMs} ms`, options);
  }
}

export class UpstreamHttpError extends UpstreamError {
  override name = "UpstreamHttpError";
  override readonly retryable: boolean;
  constructor(readonly status: number) {
    super(`upstream answered HTTP ${status}`);
    this.retryable = status >= 500;
  }
}

export class UpstreamConnectionError extends UpstreamError {
  override name = "UpstreamConnectionError";
}

/** The answer did not have the shape of DexScreener's API; trying again will not fix it. */
export class UpstreamSchemaError extends UpstreamError {
  override name = "UpstreamSchemaError";
  override readonly retryable = false;
}

/**
 * Every pair the upstream sent for this mint failed validation (the other mints of its call were
 * scored): the mint alone is retried later, with backoff.
 */
export class UpstreamPairsRejectedError extends UpstreamSchemaError {
  override name = "UpstreamPairsRejectedError";
  constructor(
    readonly mint: string,
    readonly fields: readonly string[],
  ) {
    super(`every pair of ${mint} failed validation (${fields.join(", ")})`);
  }
}

/**
 * A batch answer with no pair for any of its mints, though several of them had pairs last time:
 * the upstream is broken (counted toward the breaker), not 30 tokens that lost their pools.
 */
export class UpstreamEmptyAnswerError extends UpstreamError {
  override name = "UpstreamEmptyAnswerError";
  constructor(readonly mints: number) {
    super(`upstream answered no pairs for any of ${mints} mints that had pairs`);
  }
}

/** The fleet's fallback budget has no permit now: the mint keeps its last snapshot for a TTL. */
export class UpstreamFallbackDeferredError extends UpstreamError {
  override name = "UpstreamFallbackDeferredError";
  override readonly retryable = false;
  constructor(readonly waitMs: number) {
    super(`fallback budget spent: next /token-pairs permit in ${waitMs} ms`);
  }
}

/** The circuit breaker is open: no call was made. */
export class UpstreamCircuitOpenError extends UpstreamError {
  override name = "UpstreamCircuitOpenError";
  constructor(readonly retryInMs: number) {
    super(`circuit breaker open: next trial in ${retryInMs} ms`);
  }
}

/** The fleet's request budget has no permit for this lane within the wait allowed. */
export class UpstreamBudgetExhaustedError extends UpstreamError {
  override name = "UpstreamBudgetExhaustedError";
  constructor(readonly waitMs: number) {
    super(`request budget exhausted: next permit in ${waitMs} ms`);
  }
}

/**
 * Failures that mean "not now" rather than "broken": the job should be delayed (keeping its
 * attempts), for how long.
 */
export function delayOf(err: unknown): number | null {
  if (err instanceof UpstreamRateLimitedError) return err.retryAfterMs;
  if (err instanceof UpstreamCircuitOpenError) return err.retryInMs;
  if (err instanceof UpstreamBudgetExhaustedError) return err.waitMs;
  return null;
}
