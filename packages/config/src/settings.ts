import { z } from "zod";
import { DEFAULT_UPSTREAM_CONNECTIONS, schedulingModeSchema } from "@moonfleet/domain";

// Every setting moonfleet reads from the environment, in one table: the env name, its zod type and
// default, and the one-line description that .env.example and the README carry.
// Each type parses an environment string (`env`) and, for settings that can change at runtime,
// the same value as JSON (`json`, for PATCH /config), with the same bounds and messages.
interface SettingType<E extends z.ZodType = z.ZodType, J extends z.ZodType = z.ZodType> {
  readonly env: E;
  readonly json: J;
}
const bounded = (n: z.ZodNumber, min: number, max: number) =>
  n.min(min, { error: `expected at least ${min}` }).max(max, { error: `expected at most ${max}` });
const bool = {
  env: z.enum(["true", "false"], { error: "expected true or false" }).transform((v) => v === "true"),
  json: z.boolean({ error: "expected true or false" }),
};
const int = (min: number, max: number) => ({
  env: z.coerce
    .number({ error: "expected a number" })
    .pipe(bounded(z.number().int({ error: "expected a whole number" }), min, max)),
  json: bounded(z.number({ error: "expected a number" }).int({ error: "expected a whole number" }), min, max),
});
const real = (min: number, max: number) => ({
  env: z.coerce.number({ error: "expected a number" }).pipe(bounded(z.number(), min, max)),
  json: bounded(z.number({ error: "expected a number" }), min, max),
});
const percent = real(0, 100);
const plain = <S extends z.ZodType>(schema: S) => ({ env: schema, json: schema });
const url = plain(z.url({ error: "expected a URL" }));
const text = plain(z.string().min(1));

export interface SettingSpec {
  readonly env: string;
  readonly type: SettingType;
  /** The default as it is written in the environment; undefined means "unset". */
  readonly default: string | undefined;
  readonly doc: string;
  /** Changeable at runtime through PATCH /config and updateOptimizationConfig(). */
  readonly runtime: boolean;
  /** The default comes from the performance profile (the `default` shown is the high profile's). */
  readonly profiled: boolean;
}

const spec = <K extends string, T extends SettingType, D extends string | undefined>(
  env: K,
  type: T,
  dflt: D,
  doc: string,
  flags: { runtime?: boolean; profiled?: boolean } = {},
) =>
  ({
    env,
    type,
    default: dflt,
    doc,
    runtime: flags.runtime ?? false,
    profiled: flags.profiled ?? false,
  }) as const;
const live = { runtime: true } as const;
const profiled = { runtime: true, profiled: true } as const;

export const SETTINGS = [
  // Flags
  spec(
    "ENABLE_SCHEDULER_OPTIMIZATION",
    bool,
    "true",
    "false runs the legacy path: one token per request, one at a time, batches 35/70, 5 s timeout",
    live,
  ),
  spec(
    "ENABLE_PARALLEL_PROCESSING",
    bool,
    "true",
    "false: concurrency 1 per queue and one upstream call at a time",
    live,
  ),
  spec("ENABLE_ADAPTIVE_BATCHING", bool, "true", "false: fixed batch sizes (35 hot, 70 cold)", live),
  spec("ENABLE_DYNAMIC_TIMEOUTS", bool, "true", "false: fixed timeouts TIMEOUT_HOT / TIMEOUT_COLD", live),
  spec(
    "ENABLE_ADAPTIVE_CONCURRENCY",
    bool,
    "true",
    "false: each queue runs MAX_CONCURRENT_HOT / MAX_CONCURRENT_COLD jobs whatever the load and the upstream",
    live,
  ),
  // Concurrency per queue per worker process
  spec(
    "MAX_CONCURRENT_HOT",
    int(1, 256),
    "12",
    "most hot-queue jobs one worker process runs at once",
    profiled,
  ),
  spec(
    "MAX_CONCURRENT_COLD",
    int(1, 256),
    "16",
    "most cold-queue jobs one worker process runs at once",
    profiled,
  ),
  spec(
    "MAX_CONCURRENT_UNDER_LOAD",
    int(1, 256),
    "4",
    "cap per queue while the machine is under high load",
    live,
  ),
  // Upstream timeouts, seconds
  spec("TIMEOUT_HOT", real(0.1, 60), "3.0", "upstream timeout for the hot lane, seconds", live),
  spec("TIMEOUT_COLD", real(0.1, 60), "2.0", "upstream timeout for the cold lane, seconds", live),
  spec("TIMEOUT_UNDER_LOAD", real(0.1, 60), "1.5", "upstream timeout under high load, seconds", live),
  // Batch sizing, tokens per job
  spec("MIN_BATCH_SIZE", int(1, 1000), "10", "smallest batch the producer cuts", live),
  spec("MAX_BATCH_SIZE", int(1, 1000), "150", "largest batch the producer cuts", profiled),
  // Load thresholds, percent
  spec("HIGH_CPU_THRESHOLD", percent, "80.0", "CPU use (%) above which the load is high", live),
  spec("MEDIUM_CPU_THRESHOLD", percent, "60.0", "CPU use (%) above which the load is reduced", live),
  spec("LOW_CPU_THRESHOLD", percent, "30.0", "CPU use (%) below which the load is normal again", live),
  spec("HIGH_MEMORY_THRESHOLD", percent, "85.0", "memory use (%) above which the load is high", live),
  spec("MEDIUM_MEMORY_THRESHOLD", percent, "70.0", "memory use (%) above which the load is reduced", live),
  spec("LOW_MEMORY_THRESHOLD", percent, "50.0", "memory use (%) below which the load is normal again", live),
  // Freshness targets, seconds
  spec("CACHE_TTL_HOT", real(1, 86_400), "15", "freshness target of hot (active) tokens, seconds", live),
  spec(
    "CACHE_TTL_COLD",
    real(1, 86_400),
    "30",
    "freshness target of cold (monitoring) tokens, seconds",
    live,
  ),
  // Wiring
  spec("REDIS_URL", url, undefined, "Redis to use; unset, npm start runs its own redis-server"),
  spec(
    "REDIS_KEY_PREFIX",
    plain(z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, { error: "expected 1-32 of A-Z a-z 0-9 _ . -" })),
    "mf",
    "prefix of every Redis key (queues and store)",
  ),
  spec(
    "UPSTREAM_URL",
    url,
    undefined,
    "DexScreener base URL (https://api.dexscreener.com); unset, npm start runs the simulator",
  ),
  spec("API_PORT", int(0, 65_535), "8000", "port of the HTTP API and dashboard"),
  spec("API_HOST", text, "0.0.0.0", "address the API listens on"),
  spec(
    "API_MAX_CONNECTIONS",
    int(16, 1_000_000),
    "10000",
    "most open API connections (under the open-file limit); past 90% the oldest idle ones close",
  ),
  spec(
    "ADMIN_TOKEN",
    plain(z.string().min(16, { error: "expected at least 16 characters" })),
    undefined,
    "bearer token for mutating endpoints; unset, npm start makes one and prints it",
  ),
  spec(
    "ADMIN_USER",
    plain(z.string().regex(/^[^:\s]{1,64}$/, { error: "expected 1-64 characters, no colon or space" })),
    "admin",
    "user name for HTTP Basic login to Bull Board (/admin/queues); the password is ADMIN_TOKEN",
  ),
  spec(
    "BULL_BOARD_READ_ONLY",
    bool,
    "false",
    "true: Bull Board (/admin/queues) only shows the queues, with no retry, clean or remove actions",
  ),
  spec(
    "LOG_LEVEL",
    plain(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])),
    "info",
    "pino log level",
  ),
  // Adaptive controller
  spec(
    "PERFORMANCE_PROFILE",
    plain(z.enum(["auto", "high", "medium", "low"], { error: "expected auto, high, medium or low" })),
    "auto",
    "defaults for MAX_CONCURRENT_HOT/_COLD and MAX_BATCH_SIZE: auto picks high/medium/low from CPU cores and memory",
  ),
  spec(
    "CONTROLLER_INTERVAL_MS",
    int(100, 60_000),
    "1000",
    "how often each worker samples CPU, memory, event loop and upstream and decides its concurrency, ms",
  ),
  // Upstream protection
  spec(
    "UPSTREAM_RPM",
    int(1, 100_000),
    "240",
    "fleet-wide upstream requests per minute, never exceeded in any 60 s window",
    live,
  ),
  spec(
    "UPSTREAM_BURST",
    int(1, 1_000),
    "8",
    "requests the budget may spend at once (part of UPSTREAM_RPM, not on top)",
    live,
  ),
  spec(
    "UPSTREAM_HOT_RESERVE",
    int(0, 1_000),
    "4",
    "budget kept for the hot lane: cold calls only while more than this is left (a value-scheduled cold job past its start-by, its tokens' deadline less the claim's lead, takes as hot)",
    live,
  ),
  spec(
    "UPSTREAM_BUDGET_KEY",
    plain(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: "expected 1-64 of A-Z a-z 0-9 _ . : -" })),
    "default",
    "budget scope: one per egress IP when a fleet spreads over several addresses",
  ),
  spec(
    "UPSTREAM_MAX_WAIT_MS",
    int(0, 60_000),
    "2000",
    "a call waits this long for budget; longer, its job is delayed (not failed)",
    live,
  ),
  spec(
    "UPSTREAM_PENALTY_FACTOR",
    real(0.05, 1),
    "0.83",
    "after a 429 the budget runs at this share of UPSTREAM_RPM ...",
    live,
  ),
  spec(
    "UPSTREAM_PENALTY_MS",
    int(1_000, 3_600_000),
    "60000",
    "... for this long, then recovers step by step over as long again, ms",
    live,
  ),
  spec(
    "UPSTREAM_MAX_PAUSE_MS",
    int(1_000, 3_600_000),
    "120000",
    "longest fleet-wide pause a 429 can set; a longer Retry-After is logged and cut to this, ms",
    live,
  ),
  spec(
    "UPSTREAM_FALLBACK_SHARE",
    real(0, 1),
    "0.1",
    "share of UPSTREAM_RPM the fleet may spend on /token-pairs fallbacks (0: none)",
    live,
  ),
  spec(
    "UPSTREAM_COALESCE_MS",
    int(0, 5_000),
    "200",
    "concurrent jobs' mints are merged into calls of 30 within this window, ms",
    live,
  ),
  spec(
    "UPSTREAM_CONNECTIONS",
    int(1, 1_024),
    String(DEFAULT_UPSTREAM_CONNECTIONS),
    "most open keep-alive connections to the upstream per worker process",
  ),
  spec(
    "UPSTREAM_RETRIES",
    int(0, 10),
    "2",
    "retries of a timed-out, 5xx or refused call, with exponential backoff and jitter",
    live,
  ),
  spec(
    "UPSTREAM_HEDGE_EXPORTED",
    bool,
    "true",
    "a call carrying an exported token and unanswered at about the lane's p99 latency gets an identical second call (one more request); the first answer wins",
    live,
  ),
  spec(
    "BREAKER_FAILURE_THRESHOLD",
    int(1, 1_000),
    "5",
    "consecutive failed calls that open the circuit breaker",
    live,
  ),
  spec(
    "BREAKER_COOLDOWN_MS",
    int(100, 3_600_000),
    "60000",
    "how long the breaker stays open before trial calls, ms",
    live,
  ),
  spec("BREAKER_HALF_OPEN_CALLS", int(1, 100), "3", "trial calls allowed while half-open", live),
  spec("BREAKER_CLOSE_AFTER", int(1, 100), "2", "successful trial calls that close the breaker", live),
  // Scheduling
  spec("PRODUCER_TICK_MS", int(50, 60_000), "1000", "how often the producer claims due tokens, ms"),
  spec(
    "LEASE_MS",
    int(1_000, 3_600_000),
    "30000",
    "the longest a claimed token is held before it is due again if its job dies (sooner once the producer sees its worker gone: the worker's Redis connection closed, or its heartbeat expired), ms; above DUE_MARGIN_MS",
  ),
  spec(
    "DUE_MARGIN_MS",
    int(0, 60_000),
    "2000",
    "next due = fetchedAt + TTL - this margin (claim, queue and fetch time), ms; below both TTLs",
    live,
  ),
  spec(
    "MAX_QUEUED_JOBS",
    int(1, 100_000),
    "64",
    "the producer stops claiming a lane while its queue holds this many waiting jobs",
    live,
  ),
  spec(
    "SCHEDULING",
    plain(schedulingModeSchema),
    "value",
    "value: a token's next refresh comes from what it is worth (exported, near the export threshold, volatile) within the staleness guarantees; lanes: each lane's TTL alone",
    live,
  ),
  spec(
    "MAX_STALENESS_FACTOR",
    real(1, 100),
    "4",
    "value scheduling: no token waits longer than this x its lane's TTL for a refresh while the budget covers that floor",
    live,
  ),
  spec(
    "EXPORT_REFRESH_S",
    real(1, 3_600),
    "5",
    "value scheduling: an exported token is refreshed at least this often, seconds",
    live,
  ),
  spec(
    "ACTIVATION_LIQUIDITY_USD",
    real(0, 1e12),
    "200",
    "liquidity (USD) a pool needs to count for activation",
  ),
  spec(
    "SHUTDOWN_TIMEOUT_MS",
    int(0, 600_000),
    "5000",
    "how long a stopping process lets in-flight jobs finish before aborting them, ms",
  ),
  // Exports
  spec("EXPORT_TOP_N", int(1, 100), "3", "tokens the bot exports carry (top by smoothed score)", live),
  spec("EXPORT_MIN_SCORE", real(0, 10), "0.5", "smoothed score a token needs to enter the exports", live),
  spec(
    "EXPORT_EXIT_SCORE",
    real(0, 10),
    "0.45",
    "an exported token leaves at once below this smoothed score; at most EXPORT_MIN_SCORE",
    live,
  ),
  spec(
    "EXPORT_MIN_POOL_LIQUIDITY_USD",
    real(0, 1e12),
    "500",
    "liquidity (USD) a pool needs to be exported (pools below the scoring floor, 500 for active tokens, are never stored)",
    live,
  ),
  spec("EXPORT_POOLS_PER_TOKEN", int(2, 8), "3", "pools exported per token, the most liquid first", live),
  spec(
    "EXPORT_MAX_STALENESS_S",
    real(1, 86_400),
    undefined,
    "a token whose snapshot is older than this leaves every export until fresh; unset: 2 x its lane's TTL, seconds",
  ),
  spec(
    "EXPORT_MIN_HOLD_S",
    real(0, 86_400),
    "60",
    "an exported token out of the top N leaves after this long (damping), seconds",
    live,
  ),
  spec(
    "EXPORT_DIR",
    text,
    undefined,
    "folder the exporter leader writes markets.json, notarb-markets.json and smb-config.toml to, atomically; unset: no files",
  ),
  spec("EVENTS_MAX_STREAMS", int(1, 100_000), "500", "open GET /events streams per fleet; more answer 503"),
  // Discovery and the registry's lifetime
  spec(
    "DISCOVERY_URL",
    plain(
      z.union([
        z.literal("off"),
        z.url({ protocol: /^wss?$/, error: "expected off or a ws:// or wss:// URL" }),
      ]),
    ),
    undefined,
    "PumpPortal's migration stream (wss://pumpportal.fun/api/data); unset, npm start and docker compose use the simulator's stream; off: no discovery",
  ),
  spec(
    "DISCOVERY_API_KEY",
    text,
    undefined,
    "optional PumpPortal key, sent as the api-key query parameter (never logged)",
  ),
  spec(
    "DISCOVERY_PING_MS",
    int(1_000, 300_000),
    "20000",
    "discovery pings the stream this often and reconnects when a ping goes unanswered until the next, ms",
  ),
  spec(
    "MONITORING_TIMEOUT_HOURS",
    real(0.001, 10_000),
    "12",
    "a monitoring token that has not activated this long after its migration is archived, hours",
    live,
  ),
  spec(
    "ARCHIVE_BELOW_HOURS",
    real(0.001, 10_000),
    "12",
    "an active token without a smoothed score >= 0.10 for this long is archived, hours",
    live,
  ),
  spec(
    "ARCHIVE_RETENTION_HOURS",
    real(0.001, 10_000),
    "72",
    "an archived token keeps its last snapshot this long, then it is deleted with its history, hours",
    live,
  ),
  // Local fleet (npm start) and the simulator
  spec("WORKER_PROCESSES", int(1, 64), "2", "worker processes npm start runs"),
  spec(
    "REDIS_SERVER_NICE",
    int(-20, 19),
    "-10",
    "nice of npm start's redis-server: below 0 it is served before busy workers (needs root or CAP_SYS_NICE)",
  ),
  spec(
    "LOG_FORMAT",
    plain(z.enum(["auto", "json", "pretty"], { error: "expected auto, json or pretty" })),
    "auto",
    "npm start's output: pretty (the banner, a summary line every 10 s, warnings and errors in words) on a terminal, JSON lines otherwise",
  ),
  spec(
    "DEMO_TOKENS",
    int(0, 100_000),
    "500",
    "simulator demo mints npm start registers (into a REDIS_URL of yours only when set explicitly)",
  ),
  spec("SIMULATOR_PORT", int(0, 65_535), "8001", "port of the DexScreener simulator"),
  spec("SIMULATOR_LATENCY_MS", int(0, 60_000), "80", "simulator: base latency, ms"),
  spec("SIMULATOR_JITTER_MS", int(0, 60_000), "40", "simulator: extra random latency up to this, ms"),
  spec("SIMULATOR_ERROR_RATE", real(0, 1), "0", "simulator: share of requests answered 500"),
  spec(
    "SIMULATOR_RATE_LIMIT_RPM",
    int(0, 1_000_000),
    "300",
    "simulator: requests per minute before it answers 429 (0: no limit)",
  ),
  spec(
    "SIMULATOR_MIGRATIONS_PER_MINUTE",
    real(0, 6_000),
    "6",
    "simulator: new mints its PumpPortal-compatible stream (/api/data) announces per minute (0: none)",
  ),
] as const;

export type SettingEnv = (typeof SETTINGS)[number]["env"];
