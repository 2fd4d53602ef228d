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
  constructor(readonly retryAfterMs: number) {
    super(`upstream rate limit: retry after ${retryAfterMs} ms`);
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
