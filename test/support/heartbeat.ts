import type { LaneState, WorkerHeartbeat } from "@moonfleet/domain";

/** A lane's state in a heartbeat as tests build it: an idle lane, with what the test says. */
export function testLaneState(o: Partial<LaneState> = {}): LaneState {
  return {
    concurrency: 4,
    active: 0,
    reason: "",
    changedAt: 0,
    timeoutMs: 1500,
    timeoutReason: "",
    jobs: 0,
    tokens: 0,
    failedTokens: 0,
    calls: 0,
    timeouts: 0,
    errors: 0,
    rateLimited: 0,
    budgetWaits: 0,
    tokensPerSecond: 0,
    recentCalls: 0,
    recentTimeouts: 0,
    recentErrors: 0,
    avgJobMs: null,
    latencyP50Ms: null,
    latencyP95Ms: null,
    ...o,
  };
}

/** A worker's heartbeat as tests build it: both lanes idle, with what the test says. */
export function testHeartbeat(o: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat {
  return {
    id: "w1",
    pid: 1,
    host: "h",
    startedAt: 0,
    at: 0,
    level: "normal",
    readings: {},
    lanes: { hot: testLaneState(), cold: testLaneState() },
    ...o,
  };
}
