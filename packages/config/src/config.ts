import type { z } from "zod";
import { SETTINGS } from "./settings.js";

type Setting = (typeof SETTINGS)[number];
type Camel<S extends string> = S extends `${infer H}_${infer T}`
  ? `${Lowercase<H>}${Capitalize<Camel<T>>}`
  : Lowercase<S>;

/** The parsed settings, keyed by the camelCase form of each env name (MAX_CONCURRENT_HOT -> maxConcurrentHot). */
export type Config = {
  readonly [S in Setting as Camel<S["env"]>]: S["default"] extends string
    ? z.output<S["schema"]>
    : z.output<S["schema"]> | undefined;
};
export type ConfigKey = keyof Config;

export const camelCase = (env: string): string =>
  env.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

const show = (raw: string) => (raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
// A bad secret is still a secret: name it, never echo it into logs.
// Values that may carry credentials are never echoed back, even when invalid.
const SECRETS: ReadonlySet<string> = new Set(["ADMIN_TOKEN", "REDIS_URL", "UPSTREAM_URL"]);

/** Parses every setting from `env`; throws ConfigError naming each bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const s of SETTINGS) {
    const given = env[s.env];
    const raw = given === undefined || given.trim() === "" ? s.default : given.trim();
    if (raw === undefined) {
      out[camelCase(s.env)] = undefined;
      continue;
    }
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) out[camelCase(s.env)] = parsed.data;
    else {
      const shown = SECRETS.has(s.env) ? "(hidden)" : JSON.stringify(show(raw));
      problems.push(`${s.env}=${shown}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    }
  }
  if (problems.length === 0) problems.push(...crossChecks(out as Config));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Config;
}

function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  const ordered = (kind: "CPU" | "MEMORY", low: number, medium: number, high: number) => {
    if (!(low < medium && medium < high))
      problems.push(
        `LOW_${kind}_THRESHOLD, MEDIUM_${kind}_THRESHOLD, HIGH_${kind}_THRESHOLD: expected low < medium < high, got ${low}, ${medium}, ${high}`,
      );
  };
  ordered("CPU", c.lowCpuThreshold, c.mediumCpuThreshold, c.highCpuThreshold);
  ordered("MEMORY", c.lowMemoryThreshold, c.mediumMemoryThreshold, c.highMemoryThreshold);
  if (c.minBatchSize > c.maxBatchSize)
    problems.push(`MIN_BATCH_SIZE=${c.minBatchSize} is above MAX_BATCH_SIZE=${c.maxBatchSize}`);
  return problems;
}

/** For an app's main: parse the environment or exit 1 with one readable line per problem. */
export function loadConfigOrExit(
  app: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`moonfleet ${app}: invalid setting ${p}\n`);
    process.exit(1);
  }
}
