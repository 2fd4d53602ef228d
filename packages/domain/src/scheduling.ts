import { z } from "zod";

/**
 * How the producer spends the upstream budget: `value` gives each token a due time from what a
 * refresh is worth (within hard staleness guarantees); `lanes` is the lane TTLs alone.
 */
export const SCHEDULING_MODES = ["value", "lanes"] as const;
export const schedulingModeSchema = z.enum(SCHEDULING_MODES);
export type SchedulingMode = z.infer<typeof schedulingModeSchema>;

/**
 * The classes the bots' view is judged by: exported tokens, the top 50 by score (not exported),
 * other active tokens, monitoring tokens. A token is in the first class that holds it.
 */
export const TOKEN_CLASSES = ["exported", "top50", "active", "monitoring"] as const;
export const tokenClassSchema = z.enum(TOKEN_CLASSES);
export type TokenClass = z.infer<typeof tokenClassSchema>;

/** How many tokens by score make the `top50` class. */
export const TOP_CLASS_SIZE = 50;
