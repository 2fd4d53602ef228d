import WebSocket from "ws";
import { pause } from "@moonfleet/runtime";
import { RECONNECT_MAX_MS, reconnectDelayMs } from "./backoff.js";
import { MAX_MESSAGE_BYTES } from "./message.js";

/** Frames above this size end the connection (ws's own cap); those above MAX_MESSAGE_BYTES are refused one by one. */
const MAX_FRAME_BYTES = 4 * MAX_MESSAGE_BYTES;
export const SUBSCRIBE_MIGRATIONS = JSON.stringify({ method: "subscribeMigration" });

export type StreamEvent =
  | { readonly type: "connected"; readonly attempt: number }
  | { readonly type: "subscribed" }
  | { readonly type: "disconnected"; readonly reason: string; readonly retryInMs: number };

export interface StreamOptions {
  /** The stream's URL, without the api key. */
  readonly url: string;
  /** Sent as the `api-key` query parameter; never logged. */
  readonly apiKey?: string | undefined;
  /** A ping every this many ms; a connection that has not answered the last one by the next is dropped. */
  readonly pingMs: number;
  readonly onFrame: (frame: Buffer) => void;
  readonly onEvent: (e: StreamEvent) => void;
  readonly random?: () => number;
}

/** The URL a connection uses: the configured one with the api key added. */
export function connectUrl(url: string, apiKey: string | undefined): string {
  if (!apiKey) return url;
  const u = new URL(url);
  u.searchParams.set("api-key", apiKey);
  return u.toString();
}

/**
 * Holds one connection to the migration stream until `signal` aborts: subscribes after every
 * connect, pings, and reconnects with exponential backoff (1 s to 10 s, plus jitter). The backoff
 * starts over once a connection has lasted RECONNECT_MAX_MS.
 */
export async function runStream(opts: StreamOptions, signal: AbortSignal): Promise<void> {
  const random = opts.random ?? Math.random;
  let attempt = 0;
  while (!signal.aborted) {
    const opened = performance.now();
    const reason = await connectOnce(opts, signal, attempt);
    if (signal.aborted) return;
    if (performance.now() - opened >= RECONNECT_MAX_MS) attempt = 0;
    const retryInMs = reconnectDelayMs(attempt++, random());
    opts.onEvent({ type: "disconnected", reason, retryInMs });
    await pause(retryInMs, signal);
  }
}

/** One connection, from dial to close; resolves with why it ended. */
function connectOnce(opts: StreamOptions, signal: AbortSignal, attempt: number): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(connectUrl(opts.url, opts.apiKey), {
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
    });
    let reason: string | null = null;
    let awaitingPong = false;
    let pinger: NodeJS.Timeout | undefined;
    const end = (why: string) => {
      reason ??= why;
      ws.terminate();
    };
    const onAbort = () => {
      reason ??= "stopped";
      ws.close(1000, "moonfleet discovery stopping");
      // A peer that does not answer the close handshake is cut after a second.
      setTimeout(() => ws.terminate(), 1_000).unref();
    };
    signal.addEventListener("abort", onAbort, { once: true });

    ws.on("open", () => {
      opts.onEvent({ type: "connected", attempt });
      ws.send(SUBSCRIBE_MIGRATIONS, (err) => {
        if (err) end(`subscribe failed: ${err.message}`);
        else opts.onEvent({ type: "subscribed" });
      });
      pinger = setInterval(() => {
        if (awaitingPong) return end(`no pong within ${opts.pingMs} ms`);
        awaitingPong = true;
        ws.ping();
      }, opts.pingMs);
    });
    ws.on("pong", () => (awaitingPong = false));
    ws.on("message", (data: WebSocket.RawData) => {
      const frame = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      opts.onFrame(frame);
    });
    ws.on("error", (err) => (reason ??= err.message));
    ws.on("close", (code, why) => {
      clearInterval(pinger);
      signal.removeEventListener("abort", onAbort);
      resolve(reason ?? `closed by the server (${code}${why.length ? ` ${why.toString()}` : ""})`);
    });
  });
}
