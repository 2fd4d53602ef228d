import type { BreakerState } from "@moonfleet/domain";

export interface BreakerSettings {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long it stays open before trial calls. */
  readonly cooldownMs: number;
  /** Trial calls allowed at once while half-open. */
  readonly halfOpenCalls: number;
  /** Successful trials that close it. */
  readonly closeAfter: number;
}

export type Permit = { readonly allowed: true } | { readonly allowed: false; readonly retryInMs: number };

/**
 * closed -> open after `failureThreshold` consecutive failures; open -> half_open after
 * `cooldownMs`; half_open lets `halfOpenCalls` trials through, closes after `closeAfter` successes
 * and opens again on any failure. Pure: time comes from `now`.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private failures = 0;
  private openedAt = 0;
  private trialsInFlight = 0;
  private trialSuccesses = 0;

  constructor(
    private readonly settings: () => BreakerSettings,
    private readonly now: () => number,
    private readonly onChange: (to: BreakerState, from: BreakerState, why: string) => void = () => undefined,
  ) {}

  get state(): BreakerState {
    this.advance();
    return this.current;
  }

  /** Ask before a call; a granted half-open trial must end in onSuccess or onFailure. */
  permit(): Permit {
    this.advance();
    if (this.current === "closed") return { allowed: true };
    if (this.current === "open")
      return {
        allowed: false,
        retryInMs: Math.max(1, this.openedAt + this.settings().cooldownMs - this.now()),
      };
    if (this.trialsInFlight >= this.settings().halfOpenCalls) return { allowed: false, retryInMs: 1_000 };
    this.trialsInFlight++;
    return { allowed: true };
  }

  /** A granted trial that was not used (the call never went out). */
  cancel(): void {
    if (this.current === "half_open") this.trialsInFlight = Math.max(0, this.trialsInFlight - 1);
  }

  onSuccess(): void {
    if (this.current === "half_open") {
      this.trialsInFlight = Math.max(0, this.trialsInFlight - 1);
      if (++this.trialSuccesses >= this.settings().closeAfter)
        this.move("closed", `${this.trialSuccesses} trial calls succeeded`);
      return;
    }
    this.failures = 0;
  }

  onFailure(): void {
    if (this.current === "half_open") {
      this.trialsInFlight = Math.max(0, this.trialsInFlight - 1);
      this.move("open", "a trial call failed");
      return;
    }
    if (this.current === "closed" && ++this.failures >= this.settings().failureThreshold)
      this.move("open", `${this.failures} consecutive failures`);
  }

  private advance(): void {
    if (this.current === "open" && this.now() >= this.openedAt + this.settings().cooldownMs)
      this.move("half_open", "cool-down over");
  }

  private move(to: BreakerState, why: string): void {
    const from = this.current;
    this.current = to;
    this.failures = 0;
    this.trialsInFlight = 0;
    this.trialSuccesses = 0;
    if (to === "open") this.openedAt = this.now();
    this.onChange(to, from, why);
  }
}
