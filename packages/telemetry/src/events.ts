/** The `event` field of log lines operators grep for (see the operator's guide). */
export const EVENTS = {
  optimizedGroupProcessing: "optimized_group_processing",
  parallelBatch: "parallel_batch",
  tokensPerSecond: "tokens_per_second",
  cpuUsage: "cpu_usage",
  memoryUsage: "memory_usage",
  processingTime: "processing_time",
  apiCall: "api_call",
  timeout: "timeout",
  circuitBreaker: "circuit_breaker",
  concurrencyChange: "concurrency_change",
  batchSizeChange: "batch_size_change",
  timeoutChange: "timeout_change",
  producerTick: "producer_tick",
  leadership: "leadership",
  configChange: "config_change",
  loadLevel: "load_level",
  tokensRegistered: "tokens_registered",
  statusChange: "status_change",
  startup: "startup",
  shutdown: "shutdown",
  connectionLimit: "connection_limit",
  redisUnavailable: "redis_unavailable",
} as const;

export type EventName = (typeof EVENTS)[keyof typeof EVENTS];
