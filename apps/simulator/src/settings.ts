import { z } from "zod";

const rate = z.number().min(0).max(1);

// One shape without defaults, so a partial update never fills in (and overwrites) unset fields.
const settingsShape = {
  /** Base delay before each data answer, in ms. */
  latencyMs: z.number().int().min(0).max(600_000),
  /** Extra uniform delay in [0, jitterMs). */
  jitterMs: z.number().int().min(0).max(600_000),
  /** Fraction of data requests answered 500. */
  errorRate: rate,
  /** Requests per sliding 60 s window per client IP before 429; 0 = no limit. */
  rateLimitRpm: z.number().int().min(0),
  /** The limit's window: rateLimitRpm requests per this many ms (a minute, as DexScreener's). */
  rateLimitWindowMs: z.number().int().min(100).max(3_600_000),
  /** Answer 503 to every data request. */
  outage: z.boolean(),
  /** Fraction of data requests held open for `hangMs` and then dropped without an answer. */
  hangRate: rate,
  hangMs: z.number().int().min(0).max(3_600_000),
  /** Fraction of data requests answered with invalid JSON or a wrong shape. */
  malformedRate: rate,
  /** Fraction of mints whose pairs the batch endpoints leave out (`/token-pairs/v1` never does). */
  omitRate: rate,
  /** When set, the market clock stands still at this epoch ms. */
  frozenAt: z.number().int().min(0).nullable(),
  /** Market time runs this many times faster than real time. */
  timeScale: z.number().positive().max(100_000),
  /** New migrated mints the PumpPortal-compatible stream announces per minute, once subscribed; 0 = none. */
  migrationsPerMinute: z.number().min(0).max(6_000),
  /** Fraction of stream migrations preceded by a junk frame (text, no mint, bad mint, oversized). */
  junkRate: rate,
  /** false: the stream leaves clients' pings unanswered (a half-dead connection). */
  answerPings: z.boolean(),
};

export const simulatorSettingsSchema = z.object({
  latencyMs: settingsShape.latencyMs.default(80),
  jitterMs: settingsShape.jitterMs.default(40),
  errorRate: settingsShape.errorRate.default(0),
  rateLimitRpm: settingsShape.rateLimitRpm.default(300),
  rateLimitWindowMs: settingsShape.rateLimitWindowMs.default(60_000),
  outage: settingsShape.outage.default(false),
  hangRate: settingsShape.hangRate.default(0),
  hangMs: settingsShape.hangMs.default(60_000),
  malformedRate: settingsShape.malformedRate.default(0),
  omitRate: settingsShape.omitRate.default(0),
  frozenAt: settingsShape.frozenAt.default(null),
  timeScale: settingsShape.timeScale.default(1),
  migrationsPerMinute: settingsShape.migrationsPerMinute.default(6),
  junkRate: settingsShape.junkRate.default(0),
  answerPings: settingsShape.answerPings.default(true),
});

/** A partial update: unknown keys are rejected so a typo does not pass silently. */
export const simulatorSettingsPatchSchema = z.strictObject(settingsShape).partial();

export type SimulatorSettings = z.infer<typeof simulatorSettingsSchema>;
export type SimulatorSettingsPatch = z.input<typeof simulatorSettingsPatchSchema>;

export class SettingsValidationError extends Error {
  override readonly name = "SettingsValidationError";
  constructor(readonly issues: z.core.$ZodIssue[]) {
    super(`invalid simulator settings: ${z.prettifyError(new z.ZodError(issues))}`);
  }
}

/** The defaults with `patch` applied; throws SettingsValidationError on bad input. */
export function mergeSettings(current: SimulatorSettings, patch: unknown): SimulatorSettings {
  const parsed = simulatorSettingsPatchSchema.safeParse(patch ?? {});
  if (!parsed.success) throw new SettingsValidationError(parsed.error.issues);
  const merged = simulatorSettingsSchema.safeParse({ ...current, ...stripUndefined(parsed.data) });
  if (!merged.success) throw new SettingsValidationError(merged.error.issues);
  return merged.data;
}

// One-shot actions a settings PATCH may carry next to the settings: done once, never stored.
const settingsActionsSchema = z.strictObject({
  /** Drop every open stream connection now, as a network cut would. */
  dropConnections: z.boolean().optional(),
});

export type SettingsActions = z.infer<typeof settingsActionsSchema>;

/** Splits a PATCH body into its actions (validated) and the settings patch (validated by mergeSettings). */
export function takeActions(patch: unknown): { actions: SettingsActions; rest: unknown } {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch) || !("dropConnections" in patch))
    return { actions: {}, rest: patch };
  const { dropConnections, ...rest } = patch;
  const parsed = settingsActionsSchema.safeParse({ dropConnections });
  if (!parsed.success) throw new SettingsValidationError(parsed.error.issues);
  return { actions: parsed.data, rest };
}

export function defaultSettings(): SimulatorSettings {
  return simulatorSettingsSchema.parse({});
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
