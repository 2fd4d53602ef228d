import { deadlineIntervalMs, refreshParams, schedulingMode, type Config } from "@moonfleet/config";
import {
  marketsJson,
  notArbMarketsJson,
  servable,
  smbConfigToml,
  type ExportDocument,
  type ExportSettings,
} from "@moonfleet/exports";

/**
 * The oldest snapshot a token may enter the exports on under SCHEDULING=value, ms: the interval an
 * exported (hot) token's refreshes start at, so that its first one after the entry lands within
 * EXPORT_REFRESH_S. An older one is held at the door and refreshed at once.
 */
export const exportEntryMaxAgeMs = (c: Config): number =>
  Math.round(deadlineIntervalMs("hot", true, refreshParams(c)));

/** The rule's settings from the config; unset EXPORT_MAX_STALENESS_S means 2 x each lane's TTL. */
export function exportSettingsOf(c: Config): ExportSettings {
  const bound = c.exportMaxStalenessS;
  return {
    topN: c.exportTopN,
    minScore: c.exportMinScore,
    exitScore: Math.min(c.exportExitScore, c.exportMinScore),
    minPoolLiquidityUsd: c.exportMinPoolLiquidityUsd,
    poolsPerToken: c.exportPoolsPerToken,
    maxStalenessMs: {
      hot: Math.round((bound ?? 2 * c.cacheTtlHot) * 1000),
      cold: Math.round((bound ?? 2 * c.cacheTtlCold) * 1000),
    },
    minHoldMs: Math.round(c.exportMinHoldS * 1000),
    // value scheduling refreshes an exported token every EXPORT_REFRESH_S. One enters no staler
    // than the interval its refreshes start at (deadlineIntervalMs): a token let in nearer the
    // guarantee than that is served past it while its refresh runs.
    ...(schedulingMode(c) === "value" ? { entryMaxAgeMs: exportEntryMaxAgeMs(c) } : {}),
  };
}

export interface ExportBodies {
  readonly notArb: string;
  readonly smb: string;
  readonly markets: string;
}

/** Every format of one document as served at `now` (members staler than their bound left out). */
export function exportBodies(doc: ExportDocument, now: number): ExportBodies {
  const members = servable(doc, now);
  return {
    notArb: notArbMarketsJson(members),
    smb: smbConfigToml(members, [`moonfleet export version ${doc.version}, ${members.length} tokens`]),
    markets: `${JSON.stringify(marketsJson({ ...doc, tokens: members }, now), null, 2)}\n`,
  };
}
