import {
  CONTROLLER_DECISIONS_MAXLEN,
  parseControllerDecision,
  redisKeys,
  type ControllerDecision,
  type Lane,
} from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";

/** Appends a controller decision to the fleet's bounded decisions stream. */
export async function recordControllerDecision(
  redis: Redis,
  prefix: string,
  d: ControllerDecision,
): Promise<void> {
  await redis.xadd(
    redisKeys(prefix).controllerDecisions,
    "MAXLEN",
    "~",
    CONTROLLER_DECISIONS_MAXLEN,
    "*",
    "d",
    JSON.stringify(d),
  );
}

/** Reads at most this many stream entries per page while filtering. */
const PAGE = 500;

/**
 * The newest decisions first, filtered by worker and lane, at most `limit`. Scans the stream
 * backwards page by page; the stream is capped, so a scan is bounded.
 */
export async function readControllerDecisions(
  redis: Redis,
  prefix: string,
  filter: { worker?: string | undefined; lane?: Lane | undefined; limit: number },
): Promise<Array<ControllerDecision & { id: string }>> {
  const key = redisKeys(prefix).controllerDecisions;
  const out: Array<ControllerDecision & { id: string }> = [];
  let end = "+";
  for (;;) {
    const page = (await redis.xrevrange(key, end, "-", "COUNT", PAGE)) as Array<[string, string[]]>;
    for (const [id, fields] of page) {
      const d = parseControllerDecision(fields[1] ?? "");
      if (!d) continue;
      if (filter.worker !== undefined && d.worker !== filter.worker) continue;
      if (filter.lane !== undefined && d.lane !== filter.lane) continue;
      out.push({ id, ...d });
      if (out.length >= filter.limit) return out;
    }
    if (page.length < PAGE) return out;
    end = `(${page[page.length - 1]![0]}`;
  }
}
