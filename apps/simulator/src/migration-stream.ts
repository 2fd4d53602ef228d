import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { RawData } from "ws";
import { z } from "zod";
import type { MarketBook } from "./market-book.js";
import { MigrationFeed, migrationFrame } from "./migration-feed.js";
import { migratedProfile } from "./migration-market.js";
import type { SimulatorSettings } from "./settings.js";
import { StreamStatsRecorder, junkKinds } from "./stream-stats.js";
import type { JunkKind } from "./stream-stats.js";

/** PumpPortal's data stream path (`wss://pumpportal.fun/api/data`). */
export const STREAM_PATH = "/api/data";
/** Largest client frame accepted: client messages are a few hundred bytes. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** The oversized junk frame: far beyond any real migration message (well under 2 KB). */
export const OVERSIZED_FRAME_BYTES = 2 * 1024 * 1024;
/** A client with this much unsent data is not reading: it is dropped rather than buffered for. */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
/** How far behind its plan the announcer may be and still catch up. */
const MAX_CATCH_UP_MS = 2_000;

export const GREETING = { message: "Successfully subscribed to token migration events." };

const clientMessageSchema = z.looseObject({ method: z.string() });

export interface MigrationStreamOptions {
  seed: string;
  settings(): SimulatorSettings;
  /** Market time, epoch ms: migrations happen at it and their markets start at it. */
  marketNow(): number;
  book: MarketBook;
  random(): number;
}

/**
 * A PumpPortal-compatible migration stream. The simulated chain starts migrating at the first
 * `subscribeMigration` and goes on whether or not anyone listens: a client that is away misses
 * what happened meanwhile, as with the real stream (there is no replay).
 */
export class MigrationStream {
  readonly stats = new StreamStatsRecorder();
  readonly #options: MigrationStreamOptions;
  readonly #feed: MigrationFeed;
  readonly #wss: WebSocketServer;
  readonly #subscribed = new Set<WebSocket>();
  #timer: NodeJS.Timeout | undefined;
  #rate = 0;
  #running = false;
  #junkTurn = 0;

  constructor(options: MigrationStreamOptions) {
    this.#options = options;
    this.#feed = new MigrationFeed(options.seed);
    // autoPong off: pings are answered (or not) by hand, following `answerPings`.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES, autoPong: false });
  }

  /** The HTTP server's `upgrade` handler. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    if (url.pathname !== STREAM_PATH) {
      this.stats.count("rejected");
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, url.searchParams.has("api-key")));
  }

  /** Follows a settings change: a new rate takes effect now, not after the pending wait. */
  configure(): void {
    if (this.#options.settings().migrationsPerMinute !== this.#rate) this.#schedule();
  }

  /** Cuts every open stream connection, as a network drop would; returns how many. */
  dropConnections(): number {
    let dropped = 0;
    for (const ws of this.#wss.clients) {
      ws.terminate();
      this.stats.count("dropped");
      dropped++;
    }
    return dropped;
  }

  /** Stops the chain and cuts every connection; a later subscription starts the chain again. */
  close(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const ws of this.#wss.clients) ws.terminate();
  }

  #accept(ws: WebSocket, withApiKey: boolean): void {
    this.stats.opened(withApiKey);
    ws.on("error", () => {
      // A client's protocol error (say, a frame over maxPayload) closes the socket; nothing to add.
    });
    ws.on("close", () => {
      this.#subscribed.delete(ws);
      this.stats.closed();
    });
    ws.on("ping", (data: Buffer) => {
      this.stats.count("pingsReceived");
      if (!this.#options.settings().answerPings || ws.readyState !== WebSocket.OPEN) return;
      ws.pong(data);
      this.stats.count("pingsAnswered");
    });
    ws.on("message", (data: RawData, isBinary: boolean) => this.#onMessage(ws, data, isBinary));
  }

  #onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const method = isBinary ? undefined : methodOf(rawText(data));
    if (method === "subscribeMigration") {
      this.stats.count("subscribes");
      this.#subscribed.add(ws);
      this.#send(ws, JSON.stringify(GREETING));
      if (!this.#running) {
        this.#running = true;
        this.#schedule();
      }
    } else if (method === "unsubscribeMigration") {
      this.#subscribed.delete(ws);
    } else if (method === undefined) {
      this.stats.count("badMessages");
    }
    // Other PumpPortal methods (subscribeNewToken, subscribeTokenTrade, ...) are accepted and ignored.
  }

  /** Plans the next migration; `after` is when the previous one was due, so timer lag does not add up. */
  #schedule(after?: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#rate = this.#options.settings().migrationsPerMinute;
    if (!this.#running || this.#rate <= 0) return;
    // Mean 60/rate seconds, spread ±50% so announcements do not tick like a clock.
    // After a long stall it starts afresh rather than firing the missed migrations in a burst.
    const from = after !== undefined && Date.now() - after < MAX_CATCH_UP_MS ? after : Date.now();
    const dueAt = from + (60_000 / this.#rate) * (0.5 + this.#options.random());
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#migrate();
        this.#schedule(dueAt);
      },
      Math.max(0, dueAt - Date.now()),
    );
  }

  #migrate(): void {
    const migration = this.#feed.next();
    const at = this.#options.marketNow();
    this.#options.book.launch(
      migration.mint,
      migratedProfile(migration.mint, migration.kind, at, migration.life),
      at,
    );
    this.stats.announced({ mint: migration.mint, kind: migration.kind, at });
    const frame = migrationFrame(migration, at);
    const junkRate = this.#options.settings().junkRate;
    for (const ws of this.#subscribed) {
      if (junkRate > 0 && this.#options.random() < junkRate) {
        // Kinds take turns, so a short run at junkRate 1 shows every kind.
        const kind = junkKinds[this.#junkTurn++ % junkKinds.length] ?? "text";
        if (this.#send(ws, junkFrame(kind))) this.stats.junk(kind);
      }
      if (this.#send(ws, frame)) this.stats.delivered();
    }
  }

  #send(ws: WebSocket, frame: string): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.terminate();
      this.stats.count("dropped");
      return false;
    }
    ws.send(frame);
    return true;
  }
}

/** A frame a robust client must skip: not JSON, JSON without a mint, a mint that is not base58, too big. */
export function junkFrame(kind: JunkKind): string {
  switch (kind) {
    case "text":
      return "upstream hiccup: <html>502 Bad Gateway</html>";
    case "noMint":
      return JSON.stringify({ txType: "migrate", pool: "pump-amm", signature: "1".repeat(88) });
    case "badMint":
      // 0, O, I and l are not in the base58 alphabet.
      return JSON.stringify({ mint: "0OIl".repeat(11), txType: "migrate", pool: "pump-amm" });
    case "oversized":
      return JSON.stringify({
        txType: "migrate",
        pool: "pump-amm",
        padding: "x".repeat(OVERSIZED_FRAME_BYTES),
      });
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

function methodOf(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = clientMessageSchema.safeParse(value);
  return parsed.success ? parsed.data.method : undefined;
}
