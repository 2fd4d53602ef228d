import type { ConnectionQueue, Lane } from "@moonfleet/domain";
import type { LiveConfig } from "@moonfleet/config";
import type { Redis } from "@moonfleet/queues";
import {
  CircuitBreaker,
  EXPORTED_HEAD_START_MS,
  RateBudget,
  createPairsGateway,
  createUpstreamClient,
  type PairsGateway,
} from "@moonfleet/upstream";
import type { WorkerEvents } from "./worker-events.js";

export interface UpstreamPartsOptions {
  readonly live: LiveConfig;
  readonly redis: Redis;
  readonly prefix: string;
  readonly baseUrl: string;
  readonly connections: number;
  readonly timeoutFor: (lane: Lane) => number;
  /** How long a call carrying an exported token waits for its answer before a hedge goes beside it. */
  readonly hedgeAfterFor: (lane: Lane) => number;
  /** Whether any of these mints is exported now (TokenStore.anyExported). */
  readonly exportedNow: (mints: readonly string[]) => Promise<boolean>;
  readonly events: WorkerEvents;
  readonly now: () => number;
}

export interface UpstreamParts {
  readonly gateway: PairsGateway;
  /** One budget for the fleet, in Redis. */
  readonly budget: RateBudget;
  /** This process's own breaker. */
  readonly breaker: CircuitBreaker;
  /** Mints whose empty batch answer gets a fallback call; the batch processor fills it per job. */
  readonly fallbackWanted: Set<string>;
  /** Mints that had pairs at their last fetch; the batch processor fills it per job. */
  readonly hadPairs: Set<string>;
  /** When each mint's job was to start at the latest (BatchJob.urgentAt); the batch processor fills it per job. */
  readonly urgentAt: Map<string, number>;
  /** Mints the exports serve (their calls are hedged); the batch processor fills it per job. */
  readonly exported: Set<string>;
  /** How full this process's connection pool was for the calls since the last take (the controller's reading). */
  takeConnectionQueue(): ConnectionQueue;
  /** Aborts every call in flight (the shutdown deadline passed). */
  abort(reason: Error): void;
  close(): Promise<void>;
}

/** The upstream's protection around one connection pool: the fleet's budgets, this process's breaker. */
export function startUpstreamParts(o: UpstreamPartsOptions): UpstreamParts {
  const { live, events } = o;
  const client = createUpstreamClient({ baseUrl: o.baseUrl, connections: o.connections });
  const inflight = new AbortController();
  const budget = RateBudget.forFleet(o.redis, o.prefix, () => live.config);
  const fallbackBudget = RateBudget.forFallbacks(o.redis, o.prefix, () => live.config);
  const breaker = new CircuitBreaker(
    () => {
      const c = live.config;
      return {
        failureThreshold: c.breakerFailureThreshold,
        cooldownMs: c.breakerCooldownMs,
        halfOpenCalls: c.breakerHalfOpenCalls,
        closeAfter: c.breakerCloseAfter,
      };
    },
    o.now,
    (to, from, why) => events.emit("breaker", { from, to, why }),
  );
  const fallbackWanted = new Set<string>();
  const hadPairs = new Set<string>();
  const urgentAt = new Map<string, number>();
  const exported = new Set<string>();
  /** Whether a call carries a mint its job loaded as exported. */
  const carriesExported = (mints: readonly string[]) => mints.some((m) => exported.has(m));
  const gateway = createPairsGateway({
    client,
    budget,
    breaker,
    settings: () => ({
      retries: live.config.upstreamRetries,
      maxWaitMs: live.config.upstreamMaxWaitMs,
      coalesceMs: live.config.upstreamCoalesceMs,
    }),
    timeoutFor: o.timeoutFor,
    signal: inflight.signal,
    wantsFallback: (mint) => fallbackWanted.has(mint),
    hadPairs: (mint) => hadPairs.has(mint),
    urgentAt: (mint) => urgentAt.get(mint),
    // Every batch call gets a hedge timer; when it runs out, the call is hedged if it carries a
    // mint its job loaded as exported, or one that entered the exports since (read then: a call
    // gets that far only past the lane's p99 latency).
    hedgeAfterMs: (lane) => (live.config.upstreamHedgeExported ? o.hedgeAfterFor(lane) : null),
    hedgeWanted: (_lane, mints) =>
      live.config.upstreamHedgeExported && (carriesExported(mints) || o.exportedNow(mints)),
    // past its start-by, a call carrying an exported token is served before the other late calls
    firstHeadStartMs: (_lane, mints) => (carriesExported(mints) ? EXPORTED_HEAD_START_MS : 0),
    onHedge: (lane, event) => events.emit("hedge", { lane, event }),
    fallbackBudget,
    onPairsRejected: (lane, kind, rejected) => events.emit("pairsRejected", { lane, kind, rejected }),
    onPauseCapped: (lane, retryAfterMs, pausedForMs) =>
      events.emit("pauseCapped", { lane, retryAfterMs, pausedForMs }),
    onCall: (lane, ms, outcome) => events.emit("call", { lane, ms, outcome }),
    onOverrun: (lane, ms) => events.emit("overrun", { lane, ms }),
    onBudgetWait: (lane) => events.emit("budgetWait", { lane }),
    now: o.now,
  });
  return {
    gateway,
    budget,
    breaker,
    fallbackWanted,
    hadPairs,
    urgentAt,
    exported,
    takeConnectionQueue: () => client.takeConnectionQueue(),
    abort: (reason) => inflight.abort(reason),
    close: () => client.close(),
  };
}
