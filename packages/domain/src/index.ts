// The fleet's words, declared once and imported everywhere else.
export { LANES, ELASTIC_LANE, laneSchema, perLane, type Lane, type PerLane } from "./lanes.js";
export {
  TOKEN_STATUSES,
  tokenStatusSchema,
  laneOf,
  LANE_STATUS,
  TOKEN_SOURCES,
  tokenSourceSchema,
  type TokenStatus,
  type TokenSource,
} from "./statuses.js";
export {
  DISCOVERY_OUTCOMES,
  discoveryOutcomeSchema,
  discoveryStatusSchema,
  parseDiscoveryStatus,
  DELETED_HOLD_MS,
  type DiscoveryOutcome,
  type DiscoveryStatus,
} from "./discovery.js";
export {
  MINTS_PER_CALL,
  DEFAULT_UPSTREAM_CONNECTIONS,
  BREAKER_STATES,
  breakerStateSchema,
  type BreakerState,
  type ConnectionQueue,
} from "./upstream.js";
export { LOAD_LEVELS, loadLevelSchema, type LoadLevel } from "./load-level.js";
export {
  readingsSchema,
  laneStateSchema,
  CONTENTION_PHASES,
  fleetCpuSchema,
  type ContentionPhase,
  type FleetCpu,
  workerHeartbeatSchema,
  heartbeatTtlMs,
  CONNECTION_NAME_PREFIX,
  clientNames,
  workerConnectionName,
  heartbeatIndexWindowMs,
  HEARTBEAT_INDEX_TTLS,
  parseHeartbeat,
  type Readings,
  type LaneState,
  type WorkerHeartbeat,
} from "./heartbeat.js";
export { EVENT_TYPES, eventTypeSchema, EVENTS_STREAM_MAXLEN, type EventType } from "./events.js";
export {
  CLAIM_TIER_KINDS,
  SCHEDULING_MODES,
  schedulingModeSchema,
  TOKEN_CLASSES,
  tokenClassSchema,
  TOP_CLASS_SIZE,
  type ClaimLimits,
  type ClaimTier,
  type ClaimTierKind,
  type SchedulingMode,
  type TokenClass,
} from "./scheduling.js";
export {
  keyRoot,
  KEY_SEGMENTS,
  redisKeys,
  luaKey,
  luaSubKey,
  type KeySegment,
  type RedisKeys,
} from "./keys.js";
export {
  HEALTH_STATUSES,
  healthStatusSchema,
  HEALTH_CHECK_STATUS,
  HEALTH_CHECKS,
  type HealthStatus,
  type HealthCheckStatus,
  type HealthCheck,
} from "./health.js";
export {
  controllerDecisionSchema,
  parseControllerDecision,
  CONTROLLER_DECISIONS_MAXLEN,
  type ControllerDecision,
} from "./controller-decisions.js";
