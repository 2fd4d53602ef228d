import { redisKeys } from "@moonfleet/domain";
import { parseExportDocument, servable } from "@moonfleet/exports";
import type { Redis } from "@moonfleet/queues";
import { readExportStatus } from "./exporter.js";

const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : null);

/** Why an export is empty, in words an operator reads in /health/scheduler. */
function emptyBecause(
  excluded: Record<string, number>,
  leading: boolean,
  staleMembers: number,
): string | null {
  if (staleMembers > 0) return `every exported token is staler than its bound (${staleMembers} stale)`;
  if (!leading) return "no exporter leads (no api replica holds the export lock)";
  const parts = Object.entries(excluded)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`);
  return parts.length > 0
    ? `no token qualifies: ${parts.join(", ")}`
    : "no active token with a smoothed score at or above EXPORT_EXIT_SCORE";
}

/** The `exports` block of /health/scheduler: version, size, freshness, why empty, file writes. */
export async function readExportsHealth(redis: Redis, prefix: string, now: number) {
  const [raw, status] = await Promise.all([
    redis.get(redisKeys(prefix).exportDocument),
    readExportStatus(redis, prefix),
  ]);
  const doc = parseExportDocument(raw);
  const tokens = doc ? servable(doc, now).length : 0;
  return {
    version: doc?.version ?? 0,
    tokens,
    leader: status?.leader ?? null,
    generatedAt: iso(doc?.generatedAt),
    changedAt: iso(doc?.changedAt),
    secondsSinceChange: doc?.changedAt ? Math.round((now - doc.changedAt) / 1000) : null,
    excluded: doc?.excluded ?? {},
    changes: doc?.changes ?? {},
    emptyBecause:
      tokens === 0
        ? emptyBecause(doc?.excluded ?? {}, status !== null, (doc?.members.length ?? 0) - tokens)
        : null,
    files: status?.files ? { ...status.files, writtenAt: iso(status.files.writtenAt) } : null,
  };
}
