import { deadlineIntervalMs, refreshParams, schedulingMode, type Config } from "@moonfleet/config";
import {
  marketsJson,
  notArbMarketsJson,
  servable,
  smbConfigToml,
  type ExportDocument,
  type ExportSettings,
} from "@moonfleet/exports";

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
    // value scheduling starts an exported token's next refresh within deadlineIntervalMs of its
    // last fetch, and the rest of EXPORT_REFRESH_S is the claim's, the queue's and the call's: one
    // enters no staler, or its first refresh could land past the guarantee (a token let in at 5 s
    // was served 4.8 s stale 0.3 s after its entry in a short over-budget run)
    ...(schedulingMode(c) === "value"
      ? { entryMaxAgeMs: Math.round(deadlineIntervalMs("hot", true, refreshParams(c))) }
      : {}),
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
