/**
 * Market time: real time scaled by `timeScale`, or standing still at `frozenAt`. Every change
 * re-anchors at the current market time, so the clock never jumps when the scale changes or a
 * frozen clock resumes.
 */
export class MarketClock {
  #anchorReal: number;
  #anchorMarket: number;
  #timeScale: number;
  #frozenAt: number | null;

  constructor(
    private readonly realNow: () => number,
    options: { timeScale: number; frozenAt: number | null },
  ) {
    this.#anchorReal = realNow();
    this.#anchorMarket = this.#anchorReal;
    this.#timeScale = options.timeScale;
    this.#frozenAt = options.frozenAt;
  }

  now(): number {
    if (this.#frozenAt !== null) return this.#frozenAt;
    return Math.floor(this.#anchorMarket + (this.realNow() - this.#anchorReal) * this.#timeScale);
  }

  configure(options: { timeScale: number; frozenAt: number | null }): void {
    if (options.timeScale === this.#timeScale && options.frozenAt === this.#frozenAt) return;
    const current = this.now();
    this.#anchorReal = this.realNow();
    this.#anchorMarket = current;
    this.#timeScale = options.timeScale;
    this.#frozenAt = options.frozenAt;
  }
}
