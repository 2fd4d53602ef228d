import { Counter, Gauge, type Registry } from "prom-client";
import { redisKeys } from "@moonfleet/domain";
import { parseExportDocument, servable } from "@moonfleet/exports";
import type { Redis } from "@moonfleet/queues";
import { openEventStreams } from "./events-routes.js";

/** The exports' and events' figures on /metrics, read from Redis at scrape time. */
export function exportMetrics(registry: Registry) {
  const g = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  const tokens = g("moonfleet_export_tokens", "Tokens in the bot exports now (fresh members)");
  const version = g("moonfleet_export_version", "The export's version: it increases with every change");
  const sinceChange = g("moonfleet_export_seconds_since_change", "Seconds since the export last changed");
  const streams = g("moonfleet_events_open_streams", "Open GET /events streams in the fleet");
  const changes = new Counter({
    name: "moonfleet_export_set_changes_total",
    help: "Tokens entering (qualified) or leaving the export set, by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  // The document carries the fleet's running totals; this api adds what they grew by since its last scrape.
  const seen = new Map<string, number>();

  return async function update(redis: Redis, prefix: string, now: number): Promise<void> {
    const [raw, open] = await Promise.all([
      redis.get(redisKeys(prefix).exportDocument),
      openEventStreams(redis, prefix, now),
    ]);
    streams.set(open);
    const doc = parseExportDocument(raw);
    if (!doc) return;
    tokens.set(servable(doc, now).length);
    version.set(doc.version);
    if (doc.changedAt > 0) sinceChange.set(Math.max(0, (now - doc.changedAt) / 1000));
    for (const [reason, total] of Object.entries(doc.changes)) {
      const grew = total - (seen.get(reason) ?? 0);
      if (grew > 0) changes.inc({ reason }, grew);
      seen.set(reason, total);
    }
  };
}
