import type { MarketKind } from "./market-profile.js";

export const junkKinds = ["text", "noMint", "badMint", "oversized"] as const;
export type JunkKind = (typeof junkKinds)[number];

export interface AnnouncedMigration {
  mint: string;
  kind: MarketKind;
  /** Market time of the migration, epoch ms. */
  at: number;
}

/** Counters of the PumpPortal-compatible stream on /api/data. */
export interface StreamStats {
  /** Stream connections open now. */
  open: number;
  /** The most stream connections open at once (since start or the last reset). */
  maxOpen: number;
  /** WebSocket upgrades accepted on /api/data. */
  accepted: number;
  /** Upgrades refused (wrong path). */
  rejected: number;
  /** Connections that gave an `api-key` query parameter. */
  withApiKey: number;
  /** `subscribeMigration` messages received. */
  subscribes: number;
  /** Client messages that were not a known method in valid JSON. */
  badMessages: number;
  pingsReceived: number;
  pingsAnswered: number;
  /** Connections cut by `dropConnections` or for reading too slowly. */
  dropped: number;
  junk: Record<JunkKind, number>;
  migrations: {
    /** Migrations the simulated chain made (each announced to every subscriber then open). */
    announced: number;
    /** Migration frames sent, over all subscribers. */
    delivered: number;
    /** The latest announced migrations, oldest first (at most RECENT_LIMIT). */
    recent: AnnouncedMigration[];
  };
}

export const RECENT_LIMIT = 500;

export class StreamStatsRecorder {
  #open = 0;
  #stats: Omit<StreamStats, "open" | "junk" | "migrations"> = StreamStatsRecorder.#zero(0);
  #junk = StreamStatsRecorder.#zeroJunk();
  #announced = 0;
  #delivered = 0;
  #recent: AnnouncedMigration[] = [];

  static #zero(open: number): Omit<StreamStats, "open" | "junk" | "migrations"> {
    return {
      maxOpen: open,
      accepted: 0,
      rejected: 0,
      withApiKey: 0,
      subscribes: 0,
      badMessages: 0,
      pingsReceived: 0,
      pingsAnswered: 0,
      dropped: 0,
    };
  }

  static #zeroJunk(): Record<JunkKind, number> {
    return { text: 0, noMint: 0, badMint: 0, oversized: 0 };
  }

  opened(withApiKey: boolean): void {
    this.#open++;
    this.#stats.accepted++;
    if (withApiKey) this.#stats.withApiKey++;
    this.#stats.maxOpen = Math.max(this.#stats.maxOpen, this.#open);
  }

  closed(): void {
    this.#open--;
  }

  count(
    counter: "rejected" | "subscribes" | "badMessages" | "pingsReceived" | "pingsAnswered" | "dropped",
  ): void {
    this.#stats[counter]++;
  }

  junk(kind: JunkKind): void {
    this.#junk[kind]++;
  }

  announced(migration: AnnouncedMigration): void {
    this.#announced++;
    this.#recent.push(migration);
    if (this.#recent.length > RECENT_LIMIT) this.#recent.splice(0, this.#recent.length - RECENT_LIMIT);
  }

  delivered(): void {
    this.#delivered++;
  }

  /** Zeroes the counters; the connections open now stay counted (and are the new maximum). */
  reset(): void {
    this.#stats = StreamStatsRecorder.#zero(this.#open);
    this.#junk = StreamStatsRecorder.#zeroJunk();
    this.#announced = 0;
    this.#delivered = 0;
    this.#recent = [];
  }

  snapshot(): StreamStats {
    return {
      open: this.#open,
      ...this.#stats,
      junk: { ...this.#junk },
      migrations: { announced: this.#announced, delivered: this.#delivered, recent: [...this.#recent] },
    };
  }
}
