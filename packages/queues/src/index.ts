export { QUEUE_NAMES, batchJobName, bullPrefix } from "./names.js";
export { batchJobSchema, batchResultSchema, leasedTokens, type BatchJob, type BatchResult } from "./jobs.js";
export { RECONNECT_MAX_DELAY_MS, createRedis, type Redis, type ConnectionOptions } from "./connection.js";
export { openLaneQueues, earliestQueuedUrgentAt, EVENTS_MAX_LEN, JOB_RETENTION } from "./lane-queues.js";
export { Script } from "./script.js";
