import { floorMs, refreshParams, type Config } from "@moonfleet/config";
import {
  nextDocument,
  parseCandidate,
  parseExportDocument,
  stateOf,
  stepExport,
  type ExportCandidate,
  type ExportDocument,
  type HeldEntry,
  type StepResult,
} from "@moonfleet/exports";
import { EVENTS_STREAM_MAXLEN, LANES, redisKeys } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import { LeaderLock, TokenStore } from "@moonfleet/store";
import { EVENTS, type Logger } from "@moonfleet/telemetry";
import { z } from "zod";
import { exportBodies, exportSettingsOf } from "./export-bodies.js";
import { writeExportFiles } from "./export-files.js";

export const EXPORT_TICK_MS = 1_000;
const LEAD_TTL_MS = 5_000;
const STATUS_TTL_MS = 10_000;
/** Candidates read per tick beyond the members: enough for the top N after stale or route-less ones. */
const candidateCount = (topN: number) => Math.max(50, topN * 5);

export const exportStatusSchema = z.object({
  leader: z.string(),
  tickAt: z.number(),
  files: z
    .object({
      dir: z.string(),
      ok: z.boolean(),
      version: z.number().nullable(),
      writtenAt: z.number().nullable(),
      error: z.string().nullable(),
      failures: z.number(),
    })
    .nullable(),
});
export type ExportStatus = z.infer<typeof exportStatusSchema>;

export interface ExporterDeps {
  readonly redis: Redis;
  readonly config: () => Config;
  readonly logger: Logger;
  readonly id: string;
  readonly now?: () => number;
  /** Replaces the file writer (tests inject a failing one); the real one by default. */
  readonly writeFiles?: typeof writeExportFiles;
}

/** The latest snapshots of the best-ranked active tokens and of every member. */
async function readCandidates(
  redis: Redis,
  keys: ReturnType<typeof redisKeys>,
  prev: ExportDocument | null,
  floor: number,
  topN: number,
): Promise<ExportCandidate[]> {
  const top = await redis.zrevrangebyscore(
    keys.byScore("active"),
    "+inf",
    floor,
    "LIMIT",
    0,
    candidateCount(topN),
  );
  const mints = [...new Set([...top, ...(prev?.members.map((m) => m.mint) ?? [])])];
  if (mints.length === 0) return [];
  const raws = await redis.mget(...mints.map((m) => keys.snapshot(m)));
  return raws.map(parseCandidate).filter((c): c is ExportCandidate => c !== null);
}

const changeEvent = (doc: ExportDocument, step: StepResult) =>
  JSON.stringify({
    version: doc.version,
    at: doc.generatedAt,
    tokens: doc.members.length,
    entered: step.entered,
    left: step.left,
    updated: step.updated,
  });

/**
 * One exporter per fleet: the api replica holding the lock steps the export set every second,
 * stores the document (every replica serves from it), adds export_changed to the events stream in
 * the same transaction, and writes EXPORT_DIR. A file failure is logged and shown in the health;
 * it never stops the loop, and scoring never waits on it.
 */
export function createExporter(deps: ExporterDeps) {
  const now = deps.now ?? Date.now;
  const prefix = deps.config().redisKeyPrefix;
  const keys = redisKeys(prefix);
  const lock = new LeaderLock(deps.redis, keys.exportLeader, deps.id, LEAD_TTL_MS);
  const write = deps.writeFiles ?? writeExportFiles;
  let leading = false;
  let files: ExportStatus["files"] = null;
  let lastLoggedError: string | null = null;
  const store = new TokenStore(deps.redis, prefix);

  /**
   * Tokens held at the door for a fresher snapshot are due at once (a token in flight is left to
   * its fetch): they enter a tick or two later instead of on a snapshot older than a member's may be.
   */
  async function refreshHeld(held: readonly HeldEntry[], t: number, config: Config): Promise<void> {
    const params = refreshParams(config);
    await Promise.all(
      LANES.map(async (lane) => {
        const mints = held.filter((h) => h.lane === lane).map((h) => ({ mint: h.mint, at: t }));
        if (mints.length > 0) await store.expedite(lane, mints, t + floorMs(lane, params));
      }),
    );
  }

  async function writeFiles(dir: string, doc: ExportDocument, t: number): Promise<void> {
    if (files && files.dir === dir && files.ok && files.version === doc.version) return;
    try {
      await write(dir, exportBodies(doc, t));
      files = {
        dir,
        ok: true,
        version: doc.version,
        writtenAt: t,
        error: null,
        failures: files?.failures ?? 0,
      };
      if (lastLoggedError !== null)
        deps.logger.info(
          { event: EVENTS.exportFiles, dir, version: doc.version },
          "export files written again",
        );
      lastLoggedError = null;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      files = {
        dir,
        ok: false,
        version: files?.version ?? null,
        writtenAt: files?.writtenAt ?? null,
        error,
        failures: (files?.failures ?? 0) + 1,
      };
      // Once per distinct error: a read-only folder must not fill the log every second.
      if (error !== lastLoggedError)
        deps.logger.warn({ event: EVENTS.exportFiles, dir, err: error }, "export files not written");
      lastLoggedError = error;
    }
  }

  /** One tick; returns the step when this replica leads, null otherwise. */
  async function tick(): Promise<StepResult | null> {
    const wasLeading = leading;
    leading = await lock.acquireOrRenew();
    if (leading !== wasLeading)
      deps.logger.info(
        { event: EVENTS.leadership, role: "exporter", leader: leading },
        "exporter leadership",
      );
    if (!leading) return null;
    const config = deps.config();
    const settings = exportSettingsOf(config);
    const prev = parseExportDocument(await deps.redis.get(keys.exportDocument));
    const candidates = await readCandidates(deps.redis, keys, prev, settings.exitScore, settings.topN);
    const t = now();
    const step = stepExport(stateOf(prev), candidates, t, settings);
    const doc = nextDocument(prev, step, t, settings);
    const tx = deps.redis.multi().set(keys.exportDocument, JSON.stringify(doc));
    if (step.changed)
      tx.xadd(
        keys.events,
        "MAXLEN",
        "~",
        EVENTS_STREAM_MAXLEN,
        "*",
        "type",
        "export_changed",
        "data",
        changeEvent(doc, step),
      );
    await Promise.all([tx.exec(), step.held.length > 0 ? refreshHeld(step.held, t, config) : undefined]);
    if (step.changed)
      deps.logger.info(
        {
          event: EVENTS.exportChanged,
          version: doc.version,
          tokens: doc.members.length,
          entered: step.entered.map((c) => `${c.mint}:${c.reason}`),
          left: step.left.map((c) => `${c.mint}:${c.reason}`),
        },
        "export changed",
      );
    const dir = config.exportDir;
    if (dir) await writeFiles(dir, doc, t);
    else files = null;
    const status: ExportStatus = { leader: deps.id, tickAt: t, files };
    await deps.redis.set(keys.exportStatus, JSON.stringify(status), "PX", STATUS_TTL_MS);
    return step;
  }

  return {
    tick,
    leading: () => leading,
    /** Runs until the signal aborts, then gives the lock up so another replica leads at once. */
    async run(signal: AbortSignal): Promise<void> {
      await runLoop(async () => void (await tick()), {
        intervalMs: EXPORT_TICK_MS,
        signal,
        onError: (err) =>
          deps.logger.warn({ event: EVENTS.exportChanged, err: String(err) }, "export tick failed"),
      });
      if (leading) await lock.release().catch(() => undefined);
      leading = false;
    },
  };
}

/** Reads the exporter's status for the health (null when no leader reported recently). */
export async function readExportStatus(redis: Redis, prefix: string): Promise<ExportStatus | null> {
  const raw = await redis.get(redisKeys(prefix).exportStatus);
  if (!raw) return null;
  try {
    const parsed = exportStatusSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
