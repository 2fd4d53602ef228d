import { redisKeys } from "@moonfleet/domain";
import { Redis } from "ioredis";
import { z } from "zod";
import {
  ConfigError,
  camelCase,
  crossChecks,
  resolveConfig,
  type Config,
  type ConfigKey,
  type ConfigSource,
  type ResolvedConfig,
} from "./config.js";
import { SETTINGS, type SettingSpec } from "./settings.js";

// Runtime changes: a validated partial config stored in Redis (so it survives restarts) and
// broadcast on a channel, with a version counter that lets a process catch a missed message.

const RUNTIME = (SETTINGS as readonly SettingSpec[]).filter((s) => s.runtime);
const ENV_OF: ReadonlyMap<string, string> = new Map(RUNTIME.map((s) => [camelCase(s.env), s.env]));

/** The settings that can change while the fleet runs, as camelCase keys. */
export const RUNTIME_KEYS: readonly ConfigKey[] = RUNTIME.map((s) => camelCase(s.env) as ConfigKey);

/** A runtime change: any subset of the runtime settings, by camelCase key (or env name in PATCH bodies). */
export type OptimizationPatch = Partial<Config>;

export const optimizationPatchSchema = z.strictObject(
  Object.fromEntries(RUNTIME.map((s) => [camelCase(s.env), s.type.json.optional()])),
);

const configKeys = (prefix: string) => {
  const k = redisKeys(prefix);
  return { overrides: k.configOverrides, version: k.configVersion, channel: k.configChannel };
};

/** Validates a patch (camelCase keys or env names); throws ConfigError naming each bad setting. */
export function parseOptimizationPatch(body: unknown): OptimizationPatch {
  const normalized =
    body && typeof body === "object" && !Array.isArray(body)
      ? Object.fromEntries(
          Object.entries(body).map(([k, v]) => [/^[A-Z0-9_]+$/.test(k) ? camelCase(k) : k, v as unknown]),
        )
      : body;
  const parsed = optimizationPatchSchema.safeParse(normalized);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0] ?? "");
        const name = ENV_OF.get(key) ?? key;
        return i.code === "unrecognized_keys"
          ? `not a runtime setting: ${i.keys.join(", ")} (runtime settings: ${RUNTIME_KEYS.join(", ")})`
          : `${name || "(body)"}: ${i.message}`;
      }),
    );
  return parsed.data;
}

/** The effective config: `base` with `overrides` on top, marked "runtime". Throws on inconsistent results. */
export function applyOverrides(base: ResolvedConfig, overrides: OptimizationPatch): ResolvedConfig {
  const config = { ...base.config, ...overrides } as Config;
  const problems = crossChecks(config);
  if (problems.length > 0) throw new ConfigError(problems);
  const sources: Record<string, ConfigSource> = { ...base.sources };
  for (const key of Object.keys(overrides)) sources[key] = "runtime";
  return { ...base, config: Object.freeze(config), sources: sources as Record<ConfigKey, ConfigSource> };
}

export interface RuntimeStoreOptions {
  readonly redis: Redis;
  readonly prefix: string;
}

export async function readOverrides(o: RuntimeStoreOptions): Promise<OptimizationPatch> {
  const raw = await o.redis.hgetall(configKeys(o.prefix).overrides);
  const parsed = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, JSON.parse(v) as unknown]));
  // What is stored was validated when written; validating again keeps out a hand-edited key.
  return optimizationPatchSchema.safeParse(parsed).data ?? {};
}

/** A runtime change met other changes on every attempt; nothing of it was stored. */
export class ConfigConflictError extends Error {
  constructor(readonly attempts: number) {
    super(
      `the runtime config changed under this change ${attempts} times in a row: nothing was changed, try again`,
    );
    this.name = "ConfigConflictError";
  }
}

/**
 * KEYS[1] overrides hash, KEYS[2] version; ARGV version read, channel, then field/value pairs.
 * Stores the change only if no other change was stored since that version was read, so two
 * changes each checked against the same old whole cannot both land (low 55 with medium 50).
 */
const WRITE_IF_UNCHANGED = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], 'changed')
return 1
`;
/** Attempts of one change before it gives up with ConfigConflictError (each re-reads and re-checks). */
const MAX_ATTEMPTS = 5;

async function writeIfUnchanged(
  o: RuntimeStoreOptions,
  version: string,
  patch: OptimizationPatch,
): Promise<boolean> {
  const k = configKeys(o.prefix);
  const fields = Object.entries(patch).flatMap(([key, v]) => [key, JSON.stringify(v)]);
  const stored = await o.redis.eval(
    WRITE_IF_UNCHANGED,
    2,
    k.overrides,
    k.version,
    version,
    k.channel,
    ...fields,
  );
  return stored === 1;
}

async function writeAndBroadcast(o: RuntimeStoreOptions, patch: OptimizationPatch | null): Promise<void> {
  const k = configKeys(o.prefix);
  const tx = o.redis.multi();
  if (patch === null) tx.del(k.overrides);
  else tx.hset(k.overrides, ...Object.entries(patch).flatMap(([key, v]) => [key, JSON.stringify(v)]));
  tx.incr(k.version).publish(k.channel, "changed");
  await tx.exec();
}

/**
 * Validates a partial change, stores it in Redis and broadcasts it; every producer and worker
 * applies it within a second and keeps it across restarts. Returns the effective config.
 * The whole (stored overrides plus the change) is checked against the version it was read at and
 * stored only if that version still holds; otherwise it is read and checked again, so a change
 * that contradicts one stored meanwhile fails with ConfigError, and one that keeps meeting other
 * changes with ConfigConflictError.
 * Without `redis`, connects to REDIS_URL / REDIS_KEY_PREFIX from the environment.
 */
export async function updateOptimizationConfig(
  patch: unknown,
  opts: Partial<RuntimeStoreOptions> & { base?: ResolvedConfig } = {},
): Promise<ResolvedConfig> {
  const base = opts.base ?? resolveConfig();
  const redis = opts.redis ?? new Redis(base.config.redisUrl ?? "redis://127.0.0.1:6379");
  const o = { redis, prefix: opts.prefix ?? base.config.redisKeyPrefix };
  try {
    const change = parseOptimizationPatch(patch);
    for (let attempt = 1; ; attempt++) {
      // The version first: a change stored between the two reads then fails the write, not the check.
      const version = (await redis.get(configKeys(o.prefix).version)) ?? "0";
      const effective = applyOverrides(base, { ...(await readOverrides(o)), ...change });
      if (Object.keys(change).length === 0 || (await writeIfUnchanged(o, version, change))) return effective;
      if (attempt >= MAX_ATTEMPTS) throw new ConfigConflictError(attempt);
    }
  } finally {
    if (!opts.redis) await redis.quit();
  }
}

/** Drops every runtime override: the environment (and profile) rule again. */
export async function clearOptimizationOverrides(o: RuntimeStoreOptions): Promise<void> {
  await writeAndBroadcast(o, null);
}

/**
 * A process's view of the config: its environment plus the runtime overrides in Redis, updated
 * from the broadcast and, as a safety net, whenever `refresh()` sees a new version.
 */
export class LiveConfig {
  private resolved: ResolvedConfig;
  private version = -1;
  private subscriber: Redis | null = null;
  private readonly listeners = new Set<(next: ResolvedConfig, previous: ResolvedConfig) => void>();

  constructor(
    readonly base: ResolvedConfig,
    private readonly o: RuntimeStoreOptions,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.resolved = base;
  }

  get current(): ResolvedConfig {
    return this.resolved;
  }

  get config(): Config {
    return this.resolved.config;
  }

  onChange(fn: (next: ResolvedConfig, previous: ResolvedConfig) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Subscribes to changes and loads the stored overrides. Never throws: with Redis away the process
   * runs on its environment, and the next `refresh()` (every tick) or message catches up.
   */
  async start(): Promise<void> {
    const sub = this.o.redis.duplicate();
    sub.on("error", () => undefined);
    sub.on("message", () => void this.refresh(true).catch(this.onError));
    this.subscriber = sub;
    await sub.subscribe(configKeys(this.o.prefix).channel).catch(this.onError);
    await this.refresh(true).catch(this.onError);
  }

  /** Re-reads the overrides when their version moved (or always with `force`); true when the config changed. */
  async refresh(force = false): Promise<boolean> {
    const k = configKeys(this.o.prefix);
    const version = Number((await this.o.redis.get(k.version)) ?? 0);
    if (!force && version === this.version) return false;
    this.version = version;
    let next: ResolvedConfig;
    try {
      next = applyOverrides(this.base, await readOverrides(this.o));
    } catch (err) {
      this.onError(err); // inconsistent with this process's environment: keep what we have
      return false;
    }
    const previous = this.resolved;
    if (
      JSON.stringify(previous.config) === JSON.stringify(next.config) &&
      JSON.stringify(previous.sources) === JSON.stringify(next.sources)
    )
      return false;
    this.resolved = next;
    for (const fn of this.listeners) fn(next, previous);
    return true;
  }

  async stop(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
    this.subscriber = null;
  }
}
