import { randomBytes } from "node:crypto";
import { Router, type Response } from "express";
import { z } from "zod";
import { EVENT_TYPES, eventTypeSchema, redisKeys } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";
import { EventHub, compareIds, type StreamEvent } from "./event-hub.js";
import { badRequest } from "./http-errors.js";

/** Comment lines keep proxies (and their idle timeouts) from closing a quiet stream. */
export const HEARTBEAT_MS = 15_000;
/** An open stream's claim on the fleet's cap lasts this long unless its heartbeat renews it. */
const CLAIM_MS = 3 * HEARTBEAT_MS;

/** Takes a slot of the fleet-wide cap: drops expired claims, refuses beyond the cap. */
const OPEN_STREAM = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
return 1
`;

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
export const eventsQuerySchema = z.strictObject({
  types: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t !== ""),
    )
    .pipe(
      z
        .array(eventTypeSchema, { error: `expected a comma-separated list of ${EVENT_TYPES.join(", ")}` })
        .min(1),
    )
    .optional(),
  /** For clients that cannot set the Last-Event-ID header. */
  lastEventId: z
    .string()
    .regex(STREAM_ID, { error: "expected a stream id such as 1700000000000-0" })
    .optional(),
});

export interface EventsRouteDeps {
  readonly redis: Redis;
  readonly prefix: string;
  readonly maxStreams: () => number;
  readonly heartbeatMs?: number;
  readonly now?: () => number;
  /** Receives the hub's close() for the owner's shutdown. */
  readonly onClose?: (close: () => Promise<void>) => void;
  /** Aborted when the process stops: open streams end so the server can close (clients reconnect). */
  readonly signal?: AbortSignal;
}

/** Open streams in the whole fleet (for /metrics). */
export async function openEventStreams(redis: Redis, prefix: string, now: number): Promise<number> {
  return redis.zcount(redisKeys(prefix).eventStreams, now, "+inf");
}

/**
 * GET /events: Server-Sent Events from the fleet's bounded events stream, with ids (a client that
 * reconnects with Last-Event-ID gets what it missed, in order, once), heartbeats, a type filter and
 * a fleet-wide cap on open streams (503 beyond it).
 */
export function eventsRouter(deps: EventsRouteDeps): Router {
  const r = Router();
  const keys = redisKeys(deps.prefix);
  const now = deps.now ?? Date.now;
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS;
  const hub = new EventHub(
    deps.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: true }),
    keys.events,
  );
  deps.onClose?.(() => hub.close());
  const open = new Set<Response>();
  deps.signal?.addEventListener("abort", () => {
    for (const res of open) res.end();
  });

  r.get("/events", async (req, res) => {
    const q = eventsQuerySchema.safeParse(req.query);
    if (!q.success) return badRequest(res, "invalid query", q.error.issues);
    const header = req.headers["last-event-id"];
    const lastId = typeof header === "string" && header.trim() !== "" ? header.trim() : q.data.lastEventId;
    if (lastId !== undefined && !STREAM_ID.test(lastId))
      return badRequest(res, "invalid Last-Event-ID: expected a stream id such as 1700000000000-0");
    const types = new Set<string>(q.data.types ?? EVENT_TYPES);

    const id = `${process.pid}:${randomBytes(6).toString("hex")}`;
    const t = now();
    const opened = await deps.redis.eval(
      OPEN_STREAM,
      1,
      keys.eventStreams,
      String(t),
      String(t + CLAIM_MS),
      String(deps.maxStreams()),
      id,
    );
    if (opened !== 1) {
      res.setHeader("Retry-After", "5");
      return void res
        .status(503)
        .json({ error: `too many open event streams (at most ${deps.maxStreams()})` });
    }
    try {
      await hub.prime(deps.redis);
    } catch (err) {
      await deps.redis.zrem(keys.eventStreams, id).catch(() => undefined);
      throw err;
    }
    stream(res, id, lastId, types);
  });

  function stream(res: Response, id: string, lastId: string | undefined, types: ReadonlySet<string>): void {
    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache, no-transform");
    res.setHeader("Connection", "keep-alive");
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    res.write(`retry: 2000\n: moonfleet events\n\n`);

    // Live events wait while the missed ones are replayed; afterwards only ids past the last one sent go out.
    let sent = lastId ?? null;
    let replaying = lastId !== undefined;
    const held: StreamEvent[] = [];
    const deliver = (e: StreamEvent) => {
      if (sent !== null && compareIds(e.id, sent) <= 0) return;
      sent = e.id;
      if (types.has(e.type)) res.write(e.frame);
    };
    const unsubscribe = hub.subscribe((e) => (replaying ? held.push(e) : deliver(e)));
    const heartbeat = setInterval(() => {
      res.write(`: heartbeat ${now()}\n\n`);
      const t = now();
      deps.redis.zadd(keys.eventStreams, "XX", t + CLAIM_MS, id).catch(() => undefined);
    }, heartbeatMs);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      deps.redis.zrem(keys.eventStreams, id).catch(() => undefined);
    };
    res.on("close", close);
    open.add(res);
    res.on("close", () => open.delete(res));

    if (lastId !== undefined)
      hub
        .since(deps.redis, lastId)
        .then((missed) => {
          for (const e of missed) deliver(e);
        })
        .catch(() => res.write(`: could not replay the missed events\n\n`))
        .finally(() => {
          replaying = false;
          for (const e of held.splice(0)) deliver(e);
        });
  }

  return r;
}
