import { z } from "zod";

/** The two lanes: a queue each, a freshness target each, and the budget's hot-first order. */
export const LANES = ["hot", "cold"] as const;
export const laneSchema = z.enum(LANES);
export type Lane = z.infer<typeof laneSchema>;

/** A value per lane. */
export type PerLane<T> = Readonly<Record<Lane, T>>;

/** Builds a value per lane from a function of the lane. */
export const perLane = <T>(f: (lane: Lane) => T): Record<Lane, T> => ({ hot: f("hot"), cold: f("cold") });

/**
 * The lane that gives way first when a co-tenant needs the host's CPU: the cold lane's tokens can
 * wait (their floor is MAX_STALENESS_FACTOR x a long TTL), the hot lane's cannot.
 */
export const ELASTIC_LANE: Lane = "cold";
