import type { LaneName } from "@moonfleet/config";

export const LANES: readonly LaneName[] = ["hot", "cold"];

/** The BullMQ queue of each lane. */
export const QUEUE_NAMES: Readonly<Record<LaneName, string>> = { hot: "hot", cold: "cold" };

/**
 * Every key lives under one hash tag, so the Lua scripts that touch queue and store keys together
 * stay within one Redis Cluster slot.
 */
export const keyRoot = (prefix: string): string => `{${prefix}}`;

/** BullMQ's `prefix` option for our queues. */
export const bullPrefix = (prefix: string): string => `${keyRoot(prefix)}:q`;
