import type { StreamStats } from "./stream-stats.js";

export type DataEndpoint = "tokens" | "tokenPairs" | "latestTokens";

/** Counters of the DexScreener-compatible data endpoints. */
export interface DataStats {
  /** Data requests received (admin routes are not counted). */
  requests: number;
  byEndpoint: Record<DataEndpoint, number>;
  /** Answers sent, by HTTP status. */
  byStatus: Record<string, number>;
  rateLimited: number;
  /** Requests held open without an answer. */
  hung: number;
  /** Answers with a body that is not valid JSON or has the wrong shape. */
  malformed: number;
  /** Mints left out of batch answers by `omitRate`. */
  omitted: number;
  mintsRequested: number;
  lastMinuteRequests: number;
  /** Data requests per second over the last 120 s, oldest first. */
  perSecond: Array<{ t: number; n: number }>;
  startedAt: number;
}

export interface SimulatorStats extends DataStats {
  /** The PumpPortal-compatible migration stream. */
  stream: StreamStats;
}

const SECONDS = 120;

/** Cheap counters: a fixed ring of per-second buckets, nothing allocated per request. */
export class StatsRecorder {
  #requests = 0;
  #byEndpoint: Record<DataEndpoint, number> = { tokens: 0, tokenPairs: 0, latestTokens: 0 };
  #byStatus = new Map<number, number>();
  #rateLimited = 0;
  #hung = 0;
  #malformed = 0;
  #omitted = 0;
  #mintsRequested = 0;
  #startedAt: number;
  readonly #bucketSecond = new Float64Array(SECONDS).fill(-1);
  readonly #bucketCount = new Uint32Array(SECONDS);

  constructor(private readonly now: () => number) {
    this.#startedAt = now();
  }

  request(endpoint: DataEndpoint, mints: number): void {
    this.#requests++;
    this.#byEndpoint[endpoint]++;
    this.#mintsRequested += mints;
    const second = Math.floor(this.now() / 1000);
    const slot = second % SECONDS;
    if (this.#bucketSecond[slot] !== second) {
      this.#bucketSecond[slot] = second;
      this.#bucketCount[slot] = 0;
    }
    this.#bucketCount[slot] = (this.#bucketCount[slot] ?? 0) + 1;
  }

  status(code: number): void {
    this.#byStatus.set(code, (this.#byStatus.get(code) ?? 0) + 1);
  }

  rateLimited(): void {
    this.#rateLimited++;
  }

  hung(): void {
    this.#hung++;
  }

  malformed(): void {
    this.#malformed++;
  }

  omitted(count: number): void {
    this.#omitted += count;
  }

  reset(): void {
    this.#requests = 0;
    this.#byEndpoint = { tokens: 0, tokenPairs: 0, latestTokens: 0 };
    this.#byStatus.clear();
    this.#rateLimited = 0;
    this.#hung = 0;
    this.#malformed = 0;
    this.#omitted = 0;
    this.#mintsRequested = 0;
    this.#bucketSecond.fill(-1);
    this.#bucketCount.fill(0);
    this.#startedAt = this.now();
  }

  snapshot(): DataStats {
    const current = Math.floor(this.now() / 1000);
    const perSecond: Array<{ t: number; n: number }> = [];
    let lastMinute = 0;
    for (let second = current - SECONDS + 1; second <= current; second++) {
      const slot = second % SECONDS;
      const n = this.#bucketSecond[slot] === second ? (this.#bucketCount[slot] ?? 0) : 0;
      perSecond.push({ t: second * 1000, n });
      if (second > current - 60) lastMinute += n;
    }
    return {
      requests: this.#requests,
      byEndpoint: { ...this.#byEndpoint },
      byStatus: Object.fromEntries([...this.#byStatus].map(([code, n]) => [String(code), n])),
      rateLimited: this.#rateLimited,
      hung: this.#hung,
      malformed: this.#malformed,
      omitted: this.#omitted,
      mintsRequested: this.#mintsRequested,
      lastMinuteRequests: lastMinute,
      perSecond,
      startedAt: this.#startedAt,
    };
  }
}
