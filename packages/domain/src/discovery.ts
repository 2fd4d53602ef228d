import { z } from "zod";

/** What happened to one message of the migration stream. */
export const DISCOVERY_OUTCOMES = [
  "registered",
  "duplicate",
  "deleted_recently",
  "no_mint",
  "invalid_mint",
  "not_json",
  "oversized",
] as const;
export const discoveryOutcomeSchema = z.enum(DISCOVERY_OUTCOMES);
export type DiscoveryOutcome = z.infer<typeof discoveryOutcomeSchema>;

/** The discovery leader's view of its stream, published every second (read by the api). */
export const discoveryStatusSchema = z.object({
  id: z.string(),
  /** The stream's URL without credentials. */
  url: z.string(),
  connected: z.boolean(),
  subscribed: z.boolean(),
  connectedSince: z.number().nullable(),
  lastEventAt: z.number().nullable(),
  lastMessageAt: z.number().nullable(),
  reconnects: z.number(),
  lastDisconnectReason: z.string().nullable(),
  /** Migrations seen in the last 60 s. */
  eventsLastMinute: z.number(),
  /** Totals since the process started, by outcome. */
  outcomes: z.record(discoveryOutcomeSchema, z.number()),
  at: z.number(),
});
export type DiscoveryStatus = z.infer<typeof discoveryStatusSchema>;

/** How long an operator's delete keeps discovery from registering the mint again. */
export const DELETED_HOLD_MS = 24 * 3_600_000;

/** The status in `raw` (JSON), or null when it does not parse. */
export function parseDiscoveryStatus(raw: string | null): DiscoveryStatus | null {
  if (raw === null) return null;
  try {
    const r = discoveryStatusSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
