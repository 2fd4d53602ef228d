import { createServer, type RequestListener, type Server } from "node:http";
import type { Socket } from "node:net";
import { EVENTS, LogThrottle, type Logger } from "@moonfleet/telemetry";

/** Node's defaults (no header deadline checks for 30 s, 5 min per request) let slow clients sit for minutes. */
export const SERVER_TIMEOUTS = {
  /** The whole request header must arrive within this, however slowly it trickles in. */
  headersTimeoutMs: 10_000,
  /** The whole request, body included. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** How often Node looks for connections past those deadlines. */
  checkIntervalMs: 1_000,
} as const;

/** Past this share of the cap, idle connections are closed to keep room for new ones. */
const SHED_ABOVE = 0.9;
const LOG_INTERVAL_MS = 10_000;

/**
 * How many idle connections to close when `open` are open under a cap of `max`: enough to come
 * back to 90% of it, so a new client always finds room while slow ones (slowloris) hold idle
 * sockets. Node's own server.maxConnections stays as the hard limit behind it.
 */
export function connectionsToShed(open: number, max: number): number {
  return Math.max(0, open - Math.floor(max * SHED_ABOVE));
}

export interface ServerLimits {
  readonly maxConnections: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * The api's HTTP server: header, request and keep-alive deadlines, and a cap on connections.
 * Near the cap it closes the connections that have been idle longest (no request in flight: a
 * header still trickling in, or a kept-alive socket), so a flood of slow connections cannot lock
 * out a new client; the cap being reached is logged once per interval with counts.
 */
export function createApiServer(app: RequestListener, limits: ServerLimits): Server {
  const now = limits.now ?? Date.now;
  const server = createServer(
    {
      headersTimeout: SERVER_TIMEOUTS.headersTimeoutMs,
      requestTimeout: SERVER_TIMEOUTS.requestTimeoutMs,
      keepAliveTimeout: SERVER_TIMEOUTS.keepAliveTimeoutMs,
      connectionsCheckingInterval: SERVER_TIMEOUTS.checkIntervalMs,
    },
    app,
  );
  server.maxConnections = limits.maxConnections;

  // Sockets with no request in flight, the longest idle first (a Map keeps insertion order).
  const idle = new Map<Socket, true>();
  let open = 0;
  const counts = { shed: 0, refused: 0 };
  const throttle = new LogThrottle(LOG_INTERVAL_MS, now);
  const report = () => {
    if (throttle.admit("limit", undefined) === null) return;
    limits.logger.warn(
      {
        event: EVENTS.connectionLimit,
        open,
        maxConnections: limits.maxConnections,
        closedIdle: counts.shed,
        refused: counts.refused,
      },
      "connection limit reached: closing idle connections",
    );
    counts.shed = 0;
    counts.refused = 0;
  };
  const flush = setInterval(() => {
    if (throttle.drain().length > 0) report();
  }, LOG_INTERVAL_MS).unref();
  server.once("close", () => clearInterval(flush));

  server.on("connection", (socket: Socket) => {
    open++;
    idle.set(socket, true);
    socket.once("close", () => {
      open--;
      idle.delete(socket);
    });
    let shed = connectionsToShed(open, limits.maxConnections);
    if (shed === 0) return;
    for (const s of idle.keys()) {
      if (shed === 0) break;
      if (s === socket) continue;
      idle.delete(s);
      s.destroy();
      counts.shed++;
      shed--;
    }
    report();
  });
  server.on("drop", () => {
    counts.refused++;
    report();
  });
  server.on("request", (req, res) => {
    const socket = req.socket;
    idle.delete(socket);
    res.once("close", () => {
      if (!socket.destroyed) idle.set(socket, true);
    });
  });
  return server;
}
