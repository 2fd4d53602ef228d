import { MINTS_PER_CALL } from "@moonfleet/domain";
import { createServer } from "node:http";
import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Express, NextFunction, Request, Response } from "express";
import { adminRouter } from "./admin-routes.js";
import { MarketBook } from "./market-book.js";
import type { MarketOverride, ServedPair } from "./market-book.js";
import { MarketClock } from "./market-clock.js";
import { MigrationStream } from "./migration-stream.js";
import { SlidingWindowLimiter } from "./rate-limiter.js";
import { defaultSettings, mergeSettings, takeActions } from "./settings.js";
import type { SimulatorSettings, SimulatorSettingsPatch } from "./settings.js";
import { StatsRecorder } from "./stats.js";
import type { DataEndpoint, SimulatorStats } from "./stats.js";

/** The real API's limit on addresses per batch request. */

export interface SimulatorOptions {
  settings?: Partial<SimulatorSettings>;
  /** Real clock (rate limit window, stats, the base of market time). */
  now?: () => number;
  /** Source of the fault rolls and jitter; Math.random by default. */
  random?: () => number;
  /** Seed of the migration stream's mints (and their markets); "moonfleet" by default. */
  seed?: string;
}

export interface Simulator {
  readonly app: Express;
  listen(port?: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops listening, drops open connections and ends waiting or hanging requests. */
  close(): Promise<void>;
  readonly settings: {
    get(): SimulatorSettings;
    /** Merges and validates; throws SettingsValidationError on bad input. */
    update(patch: SimulatorSettingsPatch): SimulatorSettings;
  };
  stats(): SimulatorStats;
  resetStats(): void;
  /** The market clock, in epoch ms. */
  marketNow(): number;
  /** Each mint's pairs at market time `at` (default now), as the data endpoints would answer them. */
  truth(mints: readonly string[], at?: number): Truth;
  /** Cuts every open migration stream connection; returns how many. */
  dropConnections(): number;
  setOverride(mint: string, override: MarketOverride): void;
  deleteOverride(mint: string): boolean;
  clearOverrides(): void;
}

export interface Truth {
  /** The market time the pairs are for. */
  at: number;
  marketNow: number;
  /**
   * How `at` was honoured: every market is a pure function of (mint, market time) for the book's
   * current overrides and migrations, so the pairs are those at `at` itself, past or future.
   */
  model: "function-of-time";
  pairs: Record<string, ServedPair[]>;
}

interface Answer {
  status: number;
  body: unknown;
}

/** A DexScreener-compatible upstream with a deterministic market and fault settings. */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  let settings = mergeSettings(defaultSettings(), options.settings ?? {});
  const clock = new MarketClock(now, settings);
  const book = new MarketBook();
  const stats = new StatsRecorder(now);
  const limiter = new SlidingWindowLimiter();
  const stream = new MigrationStream({
    seed: options.seed ?? "moonfleet",
    settings: () => settings,
    marketNow: () => clock.now(),
    book,
    random,
  });
  // Requests waiting on a latency or hang timer, so close() can end them.
  const pending = new Map<ServerResponse, NodeJS.Timeout>();
  let server: Server | undefined;

  const updateSettings = (patch: unknown): SimulatorSettings => {
    const { actions, rest } = takeActions(patch);
    settings = mergeSettings(settings, rest);
    clock.configure(settings);
    stream.configure();
    if (actions.dropConnections === true) stream.dropConnections();
    return settings;
  };

  const allStats = {
    snapshot: (): SimulatorStats => ({ ...stats.snapshot(), stream: stream.stats.snapshot() }),
    reset: (): void => {
      stats.reset();
      stream.stats.reset();
    },
  };

  const truth = (mints: readonly string[], at?: number): Truth => {
    const marketNow = clock.now();
    const t = at ?? marketNow;
    const pairs: Record<string, ServedPair[]> = {};
    for (const mint of mints) pairs[mint] = book.pairs(mint, t);
    return { at: t, marketNow, model: "function-of-time", pairs };
  };

  const reply = (res: Response, status: number, body: unknown): void => {
    stats.status(status);
    res.status(status).json(body);
  };

  const later = (res: Response, delayMs: number, run: () => void): void => {
    if (delayMs <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      pending.delete(res);
      run();
    }, delayMs);
    pending.set(res, timer);
    res.once("close", () => {
      clearTimeout(timer);
      pending.delete(res);
    });
  };

  const roll = (rate: number): boolean => rate > 0 && random() < rate;

  const batchPairs = (mints: string[], omit: boolean): ServedPair[] => {
    const t = clock.now();
    const out: ServedPair[] = [];
    let omitted = 0;
    for (const mint of new Set(mints)) {
      if (omit && roll(settings.omitRate)) {
        omitted++;
        continue;
      }
      for (const pair of book.pairs(mint, t)) out.push(pair);
    }
    if (omitted > 0) stats.omitted(omitted);
    return out;
  };

  const tooMany = (count: number): Answer => ({
    status: 400,
    body: { error: `too many addresses: at most ${MINTS_PER_CALL}, got ${count}` },
  });

  const dataRoute =
    (
      endpoint: DataEndpoint,
      mintsOf: (req: Request) => string[],
      answer: (req: Request, mints: string[]) => Answer,
      wrongShape: string,
    ) =>
    (req: Request, res: Response): void => {
      const mints = mintsOf(req);
      stats.request(endpoint, mints.length);
      if (settings.outage) {
        reply(res, 503, { error: "Service Unavailable" });
        return;
      }
      if (settings.rateLimitRpm > 0) {
        const waitMs = limiter.take(
          req.ip ?? "unknown",
          settings.rateLimitRpm,
          now(),
          settings.rateLimitWindowMs,
        );
        if (waitMs > 0) {
          stats.rateLimited();
          res.setHeader("Retry-After", String(Math.ceil(waitMs / 1000)));
          reply(res, 429, { error: "Too Many Requests" });
          return;
        }
      }
      const delay = settings.latencyMs + (settings.jitterMs > 0 ? random() * settings.jitterMs : 0);
      later(res, delay, () => {
        if (roll(settings.hangRate)) {
          stats.hung();
          later(res, settings.hangMs, () => res.destroy());
          return;
        }
        if (roll(settings.errorRate)) {
          reply(res, 500, { error: "Internal Server Error" });
          return;
        }
        if (roll(settings.malformedRate)) {
          stats.malformed();
          stats.status(200);
          const body = random() < 0.5 ? '[{"chainId":"solana","dexId":"raydium","pairAddress":' : wrongShape;
          res.status(200).type("application/json").send(body);
          return;
        }
        const { status, body } = answer(req, mints);
        reply(res, status, body);
      });
    };

  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");

  const wrongArray = '[{"chainId":"solana","dexId":42,"pairAddress":null,"baseToken":"?"}]';
  /** The pairs of `mints` on Solana (another chain has none); `batch`: the batch endpoint's view. */
  const chainPairs = (batch: boolean) => (req: Request, mints: string[]) => {
    if (mints.length > MINTS_PER_CALL) return tooMany(mints.length);
    if (param(req, "chainId") !== "solana") return { status: 200, body: [] };
    return { status: 200, body: batchPairs(mints, batch) };
  };
  app.get(
    "/tokens/v1/:chainId/:addresses",
    dataRoute("tokens", (req) => splitAddresses(param(req, "addresses")), chainPairs(true), wrongArray),
  );
  app.get(
    "/token-pairs/v1/:chainId/:address",
    dataRoute("tokenPairs", (req) => [param(req, "address")], chainPairs(false), wrongArray),
  );
  app.get(
    "/latest/dex/tokens/:addresses",
    dataRoute(
      "latestTokens",
      (req) => splitAddresses(param(req, "addresses")),
      (_req, mints) => {
        if (mints.length > MINTS_PER_CALL) return tooMany(mints.length);
        const pairs = batchPairs(mints, true);
        return { status: 200, body: { schemaVersion: "1.0.0", pairs: pairs.length > 0 ? pairs : null } };
      },
      '{"schemaVersion":"1.0.0","pairs":[{"chainId":"solana","dexId":42}]}',
    ),
  );

  app.use(
    adminRouter({
      getSettings: () => settings,
      updateSettings,
      book,
      stats: allStats,
      marketNow: () => clock.now(),
      truth,
      dropConnections: () => stream.dropConnections(),
    }),
  );
  app.get("/livez", (_req, res) => {
    res.json({ ok: true });
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: "Not Found" });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = httpStatusOf(error);
    res.status(status).json({ error: status === 400 ? "bad request" : "internal error" });
  });

  return {
    app,
    listen(port = 0, host = "127.0.0.1") {
      if (server !== undefined) return Promise.reject(new Error("simulator is already listening"));
      const listening = createServer(app);
      listening.on("upgrade", (req, socket, head) => stream.handleUpgrade(req, socket, head));
      server = listening;
      return new Promise((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(port, host, () => {
          listening.off("error", reject);
          const address = listening.address() as AddressInfo;
          const shownHost = host.includes(":") ? `[${host}]` : host;
          resolve({ url: `http://${shownHost}:${address.port}`, port: address.port });
        });
      });
    },
    async close() {
      for (const [res, timer] of pending) {
        clearTimeout(timer);
        res.destroy();
      }
      pending.clear();
      stream.close();
      const listening = server;
      server = undefined;
      if (listening === undefined) return;
      await new Promise<void>((resolve, reject) => {
        listening.close((error) => (error ? reject(error) : resolve()));
        listening.closeAllConnections();
      });
    },
    settings: {
      get: () => settings,
      update: (patch) => updateSettings(patch),
    },
    stats: () => allStats.snapshot(),
    resetStats: () => allStats.reset(),
    marketNow: () => clock.now(),
    truth,
    dropConnections: () => stream.dropConnections(),
    setOverride: (mint, override) => book.set(mint, override),
    deleteOverride: (mint) => book.delete(mint),
    clearOverrides: () => book.clear(),
  };
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === "string" ? value : "";
}

function splitAddresses(raw: string): string[] {
  return raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function httpStatusOf(error: unknown): number {
  if (typeof error === "object" && error !== null && "status" in error) {
    const status = error.status;
    if (typeof status === "number" && status >= 400 && status < 600) return status;
  }
  return 500;
}
