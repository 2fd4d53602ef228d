import { z } from "zod";

/** What GET /events streams; the store's COMMIT script and the exporter add them to one stream. */
export const EVENT_TYPES = ["export_changed", "token_activated", "token_archived", "band_changed"] as const;
export const eventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof eventTypeSchema>;

/** The events stream keeps about this many entries (XADD MAXLEN ~): minutes of history at full churn. */
export const EVENTS_STREAM_MAXLEN = 10_000;
