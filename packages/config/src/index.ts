export { SETTINGS, type SettingSpec, type SettingEnv } from "./settings.js";
export {
  loadConfig,
  loadConfigOrExit,
  ConfigError,
  camelCase,
  type Config,
  type ConfigKey,
} from "./config.js";
export { LEGACY, ttlMs, baseTimeoutMs, laneConcurrency, batchSize, type LaneName } from "./lanes.js";
export { renderEnvExample } from "./env-example.js";
