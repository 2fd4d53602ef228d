import { z } from "zod";
import { exportPoolSchema } from "./candidate.js";
import type { ExportState, StepResult } from "./hysteresis.js";
import type { ExportSettings } from "./settings.js";

const memberSchema = z.object({
  mint: z.string(),
  symbol: z.string().nullable(),
  name: z.string().nullable(),
  smoothedScore: z.number(),
  band: z.string(),
  fetchedAt: z.number(),
  maxStalenessMs: z.number(),
  since: z.number(),
  outOfTopSince: z.number().nullable(),
  pools: z.array(exportPoolSchema),
});

const countsSchema = z.record(z.string(), z.number());

/** What the exporter leader stores each tick and every api replica serves from. */
export const exportDocumentSchema = z.object({
  version: z.number().int().nonnegative(),
  changedAt: z.number(),
  generatedAt: z.number(),
  members: z.array(memberSchema),
  settings: z.object({
    topN: z.number(),
    minScore: z.number(),
    exitScore: z.number(),
    minPoolLiquidityUsd: z.number(),
    poolsPerToken: z.number(),
    maxStalenessMs: z.object({ hot: z.number(), cold: z.number() }),
    minHoldMs: z.number(),
  }),
  /** Candidates not exported this tick, by reason. */
  excluded: countsSchema,
  /** Set changes since the fleet started exporting, by reason ("qualified" = entries). */
  changes: countsSchema,
});
export type ExportDocument = z.infer<typeof exportDocumentSchema>;

/** Parses a stored document; null when missing or unreadable (the exporter then starts afresh). */
export function parseExportDocument(raw: string | null | undefined): ExportDocument | null {
  if (!raw) return null;
  try {
    const parsed = exportDocumentSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export const stateOf = (doc: ExportDocument | null): ExportState =>
  doc
    ? { version: doc.version, changedAt: doc.changedAt, members: doc.members }
    : { version: 0, changedAt: 0, members: [] };

/** The next document from one step: the new state plus what the health and metrics show. */
export function nextDocument(
  prev: ExportDocument | null,
  step: StepResult,
  now: number,
  settings: ExportSettings,
): ExportDocument {
  const changes: Record<string, number> = { ...(prev?.changes ?? {}) };
  for (const c of [...step.entered, ...step.left]) changes[c.reason] = (changes[c.reason] ?? 0) + 1;
  return {
    version: step.state.version,
    changedAt: step.state.changedAt,
    generatedAt: now,
    members: step.state.members.map((m) => ({ ...m, pools: [...m.pools] })),
    settings: { ...settings, maxStalenessMs: { ...settings.maxStalenessMs } },
    // tokens held at the door for a fresh snapshot are why an empty export is empty, for a tick or two
    excluded: { ...step.excluded, ...(step.held.length > 0 ? { awaiting_refresh: step.held.length } : {}) },
    changes,
  };
}

/** The members a bot may trade at `now`: the staleness guard again at serve time, so a stopped leader never serves stale pools. */
export const servable = (doc: ExportDocument, now: number) =>
  doc.members.filter((m) => now - m.fetchedAt <= m.maxStalenessMs);
