export { TokenStore, HISTORY_LENGTH } from "./token-store.js";
export { storeKeys, STATUSES, type Status, type StoreKeys } from "./keys.js";
export type {
  TokenRecord,
  NewToken,
  Snapshot,
  HistoryEntry,
  TokenUpdate,
  TokenSort,
  ListQuery,
  TokenListItem,
} from "./types.js";
export { LeaderLock } from "./leader-lock.js";
export {
  publishHeartbeat,
  removeHeartbeat,
  liveWorkers,
  liveWorkerMetrics,
  type WorkerHeartbeat,
  type LaneState,
} from "./fleet-registry.js";
