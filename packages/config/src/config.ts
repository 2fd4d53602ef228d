import { availableParallelism, totalmem } from "node:os";
import type { z } from "zod";
import { PROFILES, profileFor, type MachineFacts, type ProfileName } from "./profiles.js";
import { SETTINGS, type SettingSpec } from "./settings.js";

type Setting = (typeof SETTINGS)[number];
type Camel<S extends string> = S extends `${infer H}_${infer T}`
  ? `${Lowercase<H>}${Capitalize<Camel<T>>}`
  : Lowercase<S>;

/** The parsed settings, keyed by the camelCase form of each env name (MAX_CONCURRENT_HOT -> maxConcurrentHot). */
export type Config = {
  readonly [S in Setting as Camel<S["env"]>]: S["default"] extends string
    ? z.output<S["type"]["env"]>
    : z.output<S["type"]["env"]> | undefined;
};
export type ConfigKey = keyof Config;

/** Where an effective value came from, lowest to highest precedence. */
export type ConfigSource = "default" | "profile" | "environment" | "runtime";

export interface ResolvedConfig {
  readonly config: Config;
  readonly sources: Readonly<Record<ConfigKey, ConfigSource>>;
  /** The profile in force (PERFORMANCE_PROFILE, or the one auto picked for this machine). */
  readonly profile: ProfileName;
  readonly machine: MachineFacts;
}

export const camelCase = (env: string): string =>
  env.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

const show = (raw: string) => (raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
// Values that may carry credentials are never echoed back, even when invalid.
const SECRETS: ReadonlySet<string> = new Set([
  "ADMIN_TOKEN",
  "REDIS_URL",
  "UPSTREAM_URL",
  "DISCOVERY_URL",
  "DISCOVERY_API_KEY",
]);

export const localMachine = (): MachineFacts => ({ cpus: availableParallelism(), memoryBytes: totalmem() });

export interface LoadOptions {
  /** The machine that `PERFORMANCE_PROFILE=auto` looks at; this host's cores and memory by default. */
  readonly machine?: MachineFacts;
}

/** Parses every setting from `env`, fills profile defaults, and says where each value came from. */
export function resolveConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: LoadOptions = {},
): ResolvedConfig {
  const out: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  const problems: string[] = [];
  for (const s of SETTINGS as readonly SettingSpec[]) {
    const key = camelCase(s.env);
    const given = env[s.env];
    const fromEnv = given !== undefined && given.trim() !== "";
    const raw = fromEnv ? given.trim() : s.default;
    sources[key] = fromEnv ? "environment" : "default";
    if (raw === undefined) {
      out[key] = undefined;
      continue;
    }
    const parsed = s.type.env.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else {
      const shown = SECRETS.has(s.env) ? "(hidden)" : JSON.stringify(show(raw));
      problems.push(`${s.env}=${shown}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    }
  }
  const machine = opts.machine ?? localMachine();
  const chosen = out.performanceProfile as "auto" | ProfileName | undefined;
  const profile = chosen === undefined || chosen === "auto" ? profileFor(machine) : chosen;
  for (const [key, value] of Object.entries(PROFILES[profile])) {
    if (sources[key] !== "environment") {
      out[key] = value;
      sources[key] = "profile";
    }
  }
  if (problems.length === 0) problems.push(...crossChecks(out as Config));
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    config: Object.freeze(out) as Config,
    sources: Object.freeze(sources),
    profile,
    machine,
  };
}

/** Parses every setting from `env`; throws ConfigError naming each bad variable. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: LoadOptions = {},
): Config {
  return resolveConfig(env, opts).config;
}

/** Checks that span several settings; each problem names every variable involved. */
export function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  const ordered = (kind: "CPU" | "MEMORY", low: number, medium: number, high: number) => {
    if (!(low < medium && medium < high))
      problems.push(
        `LOW_${kind}_THRESHOLD, MEDIUM_${kind}_THRESHOLD, HIGH_${kind}_THRESHOLD: expected low < medium < high, got ${low}, ${medium}, ${high}`,
      );
  };
  ordered("CPU", c.lowCpuThreshold, c.mediumCpuThreshold, c.highCpuThreshold);
  ordered("MEMORY", c.lowMemoryThreshold, c.mediumMemoryThreshold, c.highMemoryThreshold);
  if (c.upstreamBurst >= c.upstreamRpm)
    problems.push(`UPSTREAM_BURST=${c.upstreamBurst} must be below UPSTREAM_RPM=${c.upstreamRpm}`);
  if (c.upstreamHotReserve >= c.upstreamBurst)
    problems.push(
      `UPSTREAM_HOT_RESERVE=${c.upstreamHotReserve} must be below UPSTREAM_BURST=${c.upstreamBurst}`,
    );
  if (c.minBatchSize > c.maxBatchSize)
    problems.push(`MIN_BATCH_SIZE=${c.minBatchSize} is above MAX_BATCH_SIZE=${c.maxBatchSize}`);
  // next due = fetchedAt + TTL - margin: with the margin at a TTL or more a token is due before it
  // was fetched, and its lane refreshes it as fast as the fleet can (TTL 1 s, margin 60 s: 101/s).
  for (const [env, ttlS] of [
    ["CACHE_TTL_HOT", c.cacheTtlHot],
    ["CACHE_TTL_COLD", c.cacheTtlCold],
  ] as const)
    if (c.dueMarginMs >= ttlS * 1000)
      problems.push(
        `DUE_MARGIN_MS=${c.dueMarginMs} must be below ${env}=${ttlS} (${ttlS * 1000} ms): next due = fetchedAt + TTL - margin`,
      );
  if (c.dueMarginMs >= c.exportRefreshS * 1000)
    problems.push(
      `DUE_MARGIN_MS=${c.dueMarginMs} must be below EXPORT_REFRESH_S=${c.exportRefreshS} (${c.exportRefreshS * 1000} ms): an exported token is due EXPORT_REFRESH_S - margin after its fetch`,
    );
  // a claimed token is due again a lease ahead: within the margin, the claim that tops its call up
  // from the tokens due within the margin would take a token in flight again
  if (c.leaseMs <= c.dueMarginMs)
    problems.push(
      `LEASE_MS=${c.leaseMs} must be above DUE_MARGIN_MS=${c.dueMarginMs}: a claimed token is due again a lease ahead, and tokens due within the margin top a claim up`,
    );
  if (c.exportExitScore > c.exportMinScore)
    problems.push(
      `EXPORT_EXIT_SCORE=${c.exportExitScore} must be at most EXPORT_MIN_SCORE=${c.exportMinScore}`,
    );
  return problems;
}

/** For an app's main: parse the environment or exit 1 with one readable line per problem. */
export function resolveConfigOrExit(
  app: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: LoadOptions = {},
): ResolvedConfig {
  try {
    return resolveConfig(env, opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`moonfleet ${app}: invalid setting ${p}\n`);
    process.exit(1);
  }
}

export function loadConfigOrExit(
  app: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: LoadOptions = {},
): Config {
  return resolveConfigOrExit(app, env, opts).config;
}
