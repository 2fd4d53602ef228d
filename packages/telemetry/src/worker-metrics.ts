import { Counter, Gauge, Histogram, Registry } from "prom-client";

// A worker process's own metrics. Workers serve no HTTP: each publishes its registry's JSON into
// Redis with its heartbeat, and the api's /metrics merges them (prom-client's AggregatorRegistry),
// so Prometheus scrapes one endpoint however many replicas run. Labels are lanes, queues,
// outcomes, reasons and the worker id, never token addresses.

const LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10];
const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30];

export function createWorkerMetrics(worker: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ worker });
  const m = {
    registry,
    tokens: new Counter({
      name: "moonfleet_tokens_processed_total",
      help: "Tokens a batch job finished, by the job's lane (a hot job may carry cold tokens that complete its call) and outcome (scored, failed, deferred: told not now by the budget, a 429 or the breaker, skipped)",
      labelNames: ["lane", "outcome"] as const,
      registers: [registry],
    }),
    jobs: new Histogram({
      name: "moonfleet_job_duration_seconds",
      help: "Wall time of one batch job",
      labelNames: ["lane"] as const,
      buckets: JOB_BUCKETS,
      registers: [registry],
    }),
    upstream: new Histogram({
      name: "moonfleet_upstream_request_duration_seconds",
      help: "Latency of upstream calls, by lane and outcome (ok, timeout, error, rate_limited)",
      labelNames: ["lane", "outcome"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    budgetWaits: new Counter({
      name: "moonfleet_budget_waits_total",
      help: "Upstream calls that had to wait for the fleet's request budget",
      labelNames: ["lane"] as const,
      registers: [registry],
    }),
    hedges: new Counter({
      name: "moonfleet_upstream_hedges_total",
      help: "Hedged calls beside slow calls that carry an exported token: sent, and which answered first (won: the hedge, lost: the first call)",
      labelNames: ["lane", "event"] as const,
      registers: [registry],
    }),
    concurrency: new Gauge({
      name: "moonfleet_concurrency",
      help: "Jobs this worker process may run at once per queue (the controller's limit)",
      labelNames: ["queue"] as const,
      registers: [registry],
      aggregator: "first",
    }),
    duty: new Gauge({
      name: "moonfleet_concurrency_duty",
      help: "Share of the time a queue's one slot works: 1, below it while the lane yields to a co-tenant below one slot",
      labelNames: ["queue"] as const,
      registers: [registry],
      aggregator: "first",
    }),
    decisions: new Counter({
      name: "moonfleet_controller_decisions_total",
      help: "Concurrency changes by queue and reason",
      labelNames: ["queue", "reason"] as const,
      registers: [registry],
    }),
    timeout: new Gauge({
      name: "moonfleet_lane_timeout_seconds",
      help: "The upstream timeout a lane uses now",
      labelNames: ["lane"] as const,
      registers: [registry],
      aggregator: "first",
    }),
    breaker: new Gauge({
      name: "moonfleet_circuit_breaker_state",
      help: "Circuit breaker state: 0 closed, 1 half-open, 2 open",
      registers: [registry],
      aggregator: "first",
    }),
    loadLevel: new Gauge({
      name: "moonfleet_load_level",
      help: "Load level: 0 normal, 1 reduced, 2 high",
      registers: [registry],
      aggregator: "first",
    }),
    cpu: new Gauge({
      name: "moonfleet_cpu_usage_ratio",
      help: "Host (or container) CPU use seen by this worker, 0-1",
      registers: [registry],
      aggregator: "first",
    }),
    memory: new Gauge({
      name: "moonfleet_memory_usage_ratio",
      help: "Host (or container) memory use seen by this worker, 0-1",
      registers: [registry],
      aggregator: "first",
    }),
    eventLoop: new Gauge({
      name: "moonfleet_event_loop_delay_p99_seconds",
      help: "Event-loop delay p99 of this worker since the last tick",
      registers: [registry],
      aggregator: "first",
    }),
    rss: new Gauge({
      name: "moonfleet_process_resident_memory_bytes",
      help: "Resident memory of this worker process",
      registers: [registry],
      aggregator: "first",
    }),
  };
  return m;
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

export const BREAKER_CODES: Readonly<Record<string, number>> = { closed: 0, half_open: 1, open: 2 };
export const LEVEL_CODES: Readonly<Record<string, number>> = { normal: 0, reduced: 1, high: 2 };
