export { BASE58_ALPHABET, encodeBase58, isMintLike } from "./base58.js";
export { demoMints, seededAddress } from "./demo-mints.js";
export { createRng, hashString, mix32, mulberry32, unitNoise } from "./prng.js";
export {
  SOL_MINT,
  USDC_MINT,
  cyclePositionMin,
  fadeMultiplier,
  formatPrice,
  marketWaves,
  pairsFor,
  pairsForProfile,
} from "./market.js";
export type { DexPair, MarketWaves, TimeWindows, TokenRef, TxnCounts } from "./market.js";
export { buildMarketProfile, marketKinds, marketProfile } from "./market-profile.js";
export type { FadeShape, LifeCycle, MarketKind, MarketProfile, PoolProfile } from "./market-profile.js";
export { MarketBook, marketOverrideSchema } from "./market-book.js";
export type { MarketOverride, MarketView, ServedPair } from "./market-book.js";
export { MarketClock } from "./market-clock.js";
export { SlidingWindowLimiter } from "./rate-limiter.js";
export {
  SettingsValidationError,
  defaultSettings,
  mergeSettings,
  simulatorSettingsPatchSchema,
  simulatorSettingsSchema,
  takeActions,
} from "./settings.js";
export type { SettingsActions, SimulatorSettings, SimulatorSettingsPatch } from "./settings.js";
export { StatsRecorder } from "./stats.js";
export type { DataEndpoint, DataStats, SimulatorStats } from "./stats.js";
export { createSimulator } from "./server.js";
export type { Simulator, SimulatorOptions, Truth } from "./server.js";
export { MigrationFeed, migrationFrame } from "./migration-feed.js";
export type { Migration } from "./migration-feed.js";
export { migratedKind, migratedLife, migratedProfile } from "./migration-market.js";
export type { MigrationLife } from "./migration-market.js";
export {
  GREETING,
  MAX_CLIENT_FRAME_BYTES,
  OVERSIZED_FRAME_BYTES,
  STREAM_PATH,
  junkFrame,
} from "./migration-stream.js";
export { RECENT_LIMIT, junkKinds } from "./stream-stats.js";
export type { AnnouncedMigration, JunkKind, StreamStats } from "./stream-stats.js";
