export { exportPoolSchema, exportCandidateSchema, parseCandidate } from "./candidate.js";
export type { ExportPool, ExportCandidate } from "./candidate.js";
export { undamped } from "./settings.js";
export type { ExportSettings } from "./settings.js";
export {
  TRADABLE_POOL_TYPES,
  EXPORT_QUOTES,
  MIN_POOLS_PER_ROUTE,
  tradablePools,
  maxStalenessOf,
  isStale,
  judge,
} from "./selection.js";
export type { ExclusionReason, Judged } from "./selection.js";
export { EMPTY_EXPORT_STATE, POOL_SWAP_MARGIN, stickyPools, stepExport } from "./hysteresis.js";
export type {
  ExportMember,
  ExportState,
  HeldEntry,
  LeaveReason,
  SetChange,
  StepResult,
} from "./hysteresis.js";
export {
  SMB_POOL_LISTS,
  notArbMarkets,
  notArbMarketsJson,
  smbMintConfig,
  smbBlock,
  smbConfigToml,
  commentText,
  marketsJson,
  poolConfigs,
  poolView,
} from "./formats.js";
export type { ExportedToken, MarketsDocument, SmbPoolList } from "./formats.js";
export { exportDocumentSchema, parseExportDocument, stateOf, nextDocument, servable } from "./document.js";
export type { ExportDocument } from "./document.js";
