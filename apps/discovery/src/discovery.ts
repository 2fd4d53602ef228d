import { randomUUID } from "node:crypto";
import {
  DISCOVERY_OUTCOMES,
  redisKeys,
  type DiscoveryOutcome,
  type DiscoveryStatus,
} from "@moonfleet/domain";
import { createRedis } from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import { LeaderLock, TokenStore } from "@moonfleet/store";
import { EVENTS, redisLogging, safeUrl, type Logger } from "@moonfleet/telemetry";
import { parseMigration } from "./message.js";
import { runStream, type StreamEvent } from "./stream.js";

/** PumpPortal's migration stream, for a discovery process started on its own without DISCOVERY_URL. */
export const PUMPPORTAL_URL = "wss://pumpportal.fun/api/data";
/** The lead expires this long after its holder stops renewing it (a standby takes over by then). */
const LEAD_TTL_MS = 5_000;
const TICK_MS = 1_000;

export interface DiscoveryOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly url: string;
  readonly apiKey?: string | undefined;
  readonly pingMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * The fleet's one connection to the migration stream: whichever discovery process holds the lead
 * connects; the others wait. Each migration registers its mint once, as a monitoring token.
 */
export function createDiscovery(opts: DiscoveryOptions) {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const id = `${process.pid}-${randomUUID()}`;
  const redis = createRedis(opts.redisUrl, {
    name: "discovery",
    ...redisLogging(logger, opts.redisUrl, "discovery"),
  });
  const store = new TokenStore(redis, opts.prefix);
  const keys = redisKeys(opts.prefix);
  const lock = new LeaderLock(redis, keys.discoveryLeader, id, LEAD_TTL_MS);
  const shownUrl = safeUrl(opts.url);

  const outcomes = Object.fromEntries(DISCOVERY_OUTCOMES.map((o) => [o, 0])) as Record<
    DiscoveryOutcome,
    number
  >;
  const recent: number[] = [];
  const state = {
    connected: false,
    subscribed: false,
    connectedSince: null as number | null,
    lastEventAt: null as number | null,
    lastMessageAt: null as number | null,
    reconnects: 0,
    lastDisconnectReason: null as string | null,
  };
  let leading = false;
  let lastRenewed = 0;
  let stream: { stop: AbortController; done: Promise<void> } | null = null;

  const count = (outcome: DiscoveryOutcome) => void outcomes[outcome]++;

  async function onFrame(frame: Buffer): Promise<void> {
    const at = now();
    state.lastMessageAt = at;
    const msg = parseMigration(frame, at);
    if (msg.kind === "dropped") {
      count(msg.outcome);
      logger.debug({ event: EVENTS.discoveryMessage, outcome: msg.outcome }, "stream message dropped");
      return;
    }
    state.lastEventAt = at;
    recent.push(at);
    const r = await store.register(
      [{ mint: msg.mint, symbol: msg.symbol, name: msg.name, createdAt: msg.at }],
      at,
      { source: "pumpportal", honourDeletes: true },
    );
    const outcome: DiscoveryOutcome =
      r.added.length > 0 ? "registered" : r.deleted.length > 0 ? "deleted_recently" : "duplicate";
    count(outcome);
    if (outcome === "registered")
      logger.info(
        { event: EVENTS.tokensRegistered, source: "pumpportal", mint: msg.mint, symbol: msg.symbol },
        "migration registered",
      );
  }

  function onEvent(e: StreamEvent): void {
    if (e.type === "connected") {
      state.connected = true;
      state.connectedSince = now();
      logger.info(
        { event: EVENTS.discoveryConnected, url: shownUrl, attempt: e.attempt },
        "stream connected",
      );
    } else if (e.type === "subscribed") {
      state.subscribed = true;
    } else {
      state.connected = state.subscribed = false;
      state.connectedSince = null;
      state.reconnects++;
      state.lastDisconnectReason = e.reason;
      logger.warn(
        { event: EVENTS.discoveryDisconnected, reason: e.reason, retryInMs: e.retryInMs },
        `stream disconnected (${e.reason}); reconnecting in ${(e.retryInMs / 1000).toFixed(1)} s`,
      );
    }
  }

  function startStream(): void {
    const stop = new AbortController();
    const done = runStream(
      {
        url: opts.url,
        apiKey: opts.apiKey,
        pingMs: opts.pingMs,
        onEvent,
        onFrame: (frame) =>
          void onFrame(frame).catch((err: unknown) =>
            logger.error(
              { event: EVENTS.discoveryMessage, err: String(err) },
              "registering a migration failed",
            ),
          ),
      },
      stop.signal,
    );
    stream = { stop, done };
  }

  async function stopStream(why: string): Promise<void> {
    if (!stream) return;
    const s = stream;
    stream = null;
    s.stop.abort();
    await s.done;
    if (state.connected)
      logger.info({ event: EVENTS.discoveryDisconnected, reason: why }, `stream closed (${why})`);
    state.connected = state.subscribed = false;
    state.connectedSince = null;
  }

  function status(at: number): DiscoveryStatus {
    while (recent.length > 0 && recent[0]! <= at - 60_000) recent.shift();
    return { id, url: shownUrl, ...state, eventsLastMinute: recent.length, outcomes: { ...outcomes }, at };
  }

  async function tick(): Promise<void> {
    let leader: boolean;
    try {
      leader = await lock.acquireOrRenew();
      if (leader) lastRenewed = now();
    } catch (err) {
      // Without Redis we cannot know whether another process took over: keep the stream only
      // while our last renewal still holds the lead.
      leader = leading && now() - lastRenewed < LEAD_TTL_MS - TICK_MS;
      if (!leader)
        logger.warn({ event: EVENTS.leadership, err: String(err) }, "cannot renew the discovery lead");
    }
    if (leader !== leading) {
      leading = leader;
      logger.info(
        { event: EVENTS.leadership, leader },
        leader ? "took the discovery lead" : "lost the discovery lead",
      );
    }
    if (leader && !stream) startStream();
    if (!leader && stream) await stopStream("lost the lead");
    if (leader)
      await redis
        .set(keys.discoveryStatus, JSON.stringify(status(now())), "PX", LEAD_TTL_MS)
        .catch(() => undefined);
  }

  return {
    status: () => status(now()),
    leading: () => leading,
    /** Leads (or waits to) until the signal aborts; then closes the stream and hands the lead over. */
    async run(signal: AbortSignal): Promise<void> {
      await runLoop(tick, {
        intervalMs: TICK_MS,
        signal,
        onError: (err) =>
          logger.error({ event: EVENTS.leadership, err: String(err) }, "discovery tick failed"),
      });
      await stopStream("stopping");
      if (leading) {
        await redis.del(keys.discoveryStatus).catch(() => undefined);
        await lock.release().catch(() => undefined);
      }
    },
    async close(): Promise<void> {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
