import { LANES, redisKeys, type Lane } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";
import { z } from "zod";
import type { LaneController } from "./lane-controller.js";

const burstSchema = z.object({ worker: z.string(), ms: z.number().positive() });

/**
 * The fleet learns a latency surge from its first timeout: a worker whose lane timeout rose at a
 * timeout says so on a pub/sub channel, and every other worker's lanes follow at once, so their
 * calls in flight (which read the lane's timeout again when theirs runs out) do not time out under
 * the old value. A lost message costs only that worker its own first timeout.
 */
export function shareTimeoutBursts(deps: {
  readonly redis: Redis;
  readonly prefix: string;
  readonly id: string;
  readonly lanes: Readonly<Record<Lane, LaneController>>;
  readonly onError?: (err: unknown) => void;
}) {
  const channel = redisKeys(deps.prefix).timeoutBurstChannel;
  const sub = deps.redis.duplicate({ connectionName: `${deps.id}-bursts` });
  const onError = deps.onError ?? (() => undefined);
  sub.on("error", onError);
  sub.on("message", (ch: string, raw: string) => {
    if (ch !== channel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return;
    }
    const burst = burstSchema.safeParse(parsed);
    if (!burst.success || burst.data.worker === deps.id) return;
    for (const lane of LANES) deps.lanes[lane].followBurst(burst.data.ms);
  });
  const subscribed = sub.subscribe(channel).catch(onError);
  return {
    /** This worker's lane timeout rose to `ms` at a timeout. */
    raised(ms: number): void {
      deps.redis.publish(channel, JSON.stringify({ worker: deps.id, ms })).catch(onError);
    },
    async close(): Promise<void> {
      await subscribed;
      sub.disconnect();
    },
  };
}
