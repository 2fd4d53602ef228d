import type { EventType } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";

/** One entry of the events stream. */
export interface StreamEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  /** The SSE frame, encoded once for every stream that sends it. */
  readonly frame: Buffer;
}

/** Streams served per turn of the event loop: 200 writes at once held it for ~10 ms on a busy host. */
const LISTENERS_PER_TURN = 10;

/** Stream ids ("ms-seq") in order; a plain string compare gets "10-0" < "9-0" wrong. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}

type Entry = [id: string, fields: string[]];

function toEvent([id, fields]: Entry): StreamEvent {
  let type = "";
  let data = "{}";
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "type") type = fields[i + 1] ?? "";
    else if (fields[i] === "data") data = fields[i + 1] ?? "{}";
  }
  return { id, type, data, frame: Buffer.from(`id: ${id}\nevent: ${type}\ndata: ${data}\n\n`) };
}

/**
 * One reader of the events stream per api process, fanning out to every open /events response, so
 * 200 streams cost one blocking Redis connection, not 200. It runs while anyone listens.
 */
export class EventHub {
  private readonly listeners = new Set<(e: StreamEvent) => void>();
  private running: Promise<void> | null = null;
  private closed = false;
  /** The last id read; kept across pauses so a restarted loop resumes where it stopped. */
  private last: string | null = null;

  constructor(
    /** A connection of its own: XREAD BLOCK holds it. */
    private readonly reader: Redis,
    private readonly key: string,
    private readonly blockMs = 1_000,
  ) {
    // A duplicated connection has no listener of its own: without one ioredis prints its errors.
    this.reader.on("error", () => undefined);
  }

  get size(): number {
    return this.listeners.size;
  }

  /**
   * Fixes where live delivery starts (the stream's newest entry) before a client is told it is
   * connected, so nothing added after its headers went out can fall before the reader's position.
   */
  async prime(redis: Redis): Promise<void> {
    if (this.last !== null) return;
    const [latest] = (await redis.xrevrange(this.key, "+", "-", "COUNT", 1)) as Entry[];
    this.last ??= latest?.[0] ?? "0-0";
  }

  subscribe(listener: (e: StreamEvent) => void): () => void {
    this.listeners.add(listener);
    this.ensureRunning();
    return () => void this.listeners.delete(listener);
  }

  private ensureRunning(): void {
    if (this.running || this.closed || this.listeners.size === 0) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      this.ensureRunning(); // a listener that came as the loop was ending
    });
  }

  /** Entries after `afterId` (exclusive), oldest first, up to `max`. */
  async since(redis: Redis, afterId: string, max = 10_000): Promise<StreamEvent[]> {
    const entries = (await redis.xrange(this.key, `(${afterId}`, "+", "COUNT", max)) as Entry[];
    return entries.map(toEvent);
  }

  private async loop(): Promise<void> {
    if (this.last === null) {
      const [latest] = (await this.reader
        .xrevrange(this.key, "+", "-", "COUNT", 1)
        .catch(() => [])) as Entry[];
      this.last = latest?.[0] ?? "0-0";
    }
    while (!this.closed && this.listeners.size > 0) {
      let res: Array<[string, Entry[]]> | null;
      try {
        res = await this.reader.xread("COUNT", 500, "BLOCK", this.blockMs, "STREAMS", this.key, this.last);
      } catch {
        if (this.closed) return;
        await new Promise((r) => setTimeout(r, 500)); // Redis away: try again shortly
        continue;
      }
      for (const [, entries] of res ?? [])
        for (const entry of entries) {
          this.last = entry[0];
          const event = toEvent(entry);
          // In slices, so a burst of writes to many streams never holds the loop for long; each
          // stream still gets the events in stream order (the next entry waits for this one).
          const listeners = [...this.listeners];
          for (let i = 0; i < listeners.length; i += LISTENERS_PER_TURN) {
            if (i > 0) await new Promise((r) => setImmediate(r));
            for (const listener of listeners.slice(i, i + LISTENERS_PER_TURN))
              if (this.listeners.has(listener)) listener(event);
          }
        }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reader.disconnect();
    await this.running?.catch(() => undefined);
  }
}

export type { EventType };
