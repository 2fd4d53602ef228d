export { SETTINGS, type SettingSpec, type SettingEnv } from "./settings.js";
export {
  loadConfig,
  loadConfigOrExit,
  resolveConfig,
  resolveConfigOrExit,
  crossChecks,
  localMachine,
  ConfigError,
  camelCase,
  type Config,
  type ConfigKey,
  type ConfigSource,
  type ResolvedConfig,
  type LoadOptions,
} from "./config.js";
export { PROFILES, profileFor, type ProfileName, type MachineFacts } from "./profiles.js";
export {
  RUNTIME_KEYS,
  optimizationPatchSchema,
  parseOptimizationPatch,
  applyOverrides,
  readOverrides,
  updateOptimizationConfig,
  clearOptimizationOverrides,
  LiveConfig,
  ConfigConflictError,
  type OptimizationPatch,
  type RuntimeStoreOptions,
} from "./runtime-overrides.js";
export { LEGACY, ttlMs } from "./lanes.js";
export {
  lanePolicy,
  lanePolicies,
  startTimeoutMs,
  type LanePolicy,
  type LanePolicies,
  type ConcurrencyPolicy,
  type BatchPolicy,
  type TimeoutPolicy,
  type FetchMode,
} from "./lane-policy.js";
export { renderEnvExample } from "./env-example.js";
