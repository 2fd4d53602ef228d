export {
  TokenStore,
  HISTORY_LENGTH,
  COMMIT_CHUNK,
  encodePrevious,
  decodePrevious,
  type ScheduleView,
  type ClaimedMint,
  type LaneScheduleView,
} from "./token-store.js";
export type {
  TokenRecord,
  NewToken,
  Snapshot,
  HistoryEntry,
  PreviousScoring,
  TokenUpdate,
  TokenSort,
  ListQuery,
  TokenListItem,
} from "./types.js";
export { previousScoringOf } from "./types.js";
export { LeaderLock } from "./leader-lock.js";
export { publishHeartbeat, removeHeartbeat, liveWorkers, liveWorkerMetrics } from "./fleet-registry.js";
export { exchangeFleetLatency, FLEET_LATENCY_HALF_LIFE_MS } from "./fleet-latency.js";
export { recordControllerDecision, readControllerDecisions } from "./controller-decisions.js";
