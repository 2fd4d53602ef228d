// The bare pipeline: the least work that moves the same tokens through the same Redis and the
// same upstream. BullMQ jobs of 30 mints whose processor makes one undici GET
// /tokens/v1/solana/<mints> and reads the body, nothing else: no zod, no scoring, no store, no
// budget, no controller. Its tokens per second are the ceiling moonfleet's `unbounded` rate is
// compared with.
//
// As a module, `feedBarePipeline()` keeps the queue topped up from the bench process. Run as a
// script (`node bare-pipeline.mjs --worker`), it is one worker process; it prints a JSON line
// `{ "event": "bare_done", "tokens": n }` every second with its running total.

import { Pool } from "undici";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";

const { setInterval, clearInterval } = globalThis;

export const BARE_QUEUE = "bare";
export const BARE_CALL = 30;
/** Jobs each bare worker process runs at once, and its keep-alive connections (moonfleet's UPSTREAM_CONNECTIONS). */
export const BARE_CONCURRENCY = 16;
const TOP_UP = 128;

const connection = (url, blocking) =>
  new Redis(url, { maxRetriesPerRequest: blocking ? null : 2, connectionName: "moonfleet:bench-bare" });

/** Keeps at least TOP_UP jobs waiting until `signal` aborts; cycles through `mints` in calls of 30. */
export async function feedBarePipeline({ redisUrl, prefix, mints, signal }) {
  const redis = connection(redisUrl, false);
  const queue = new Queue(BARE_QUEUE, { connection: redis, prefix: `{${prefix}}:q` });
  let next = 0;
  try {
    while (!signal.aborted) {
      const waiting = await queue.getWaitingCount();
      if (waiting < TOP_UP) {
        const jobs = [];
        for (let i = waiting; i < TOP_UP * 2; i++) {
          if (next + BARE_CALL > mints.length) next = 0;
          jobs.push({
            name: "bare",
            data: { mints: mints.slice(next, next + BARE_CALL) },
            opts: { removeOnComplete: { count: 2_000 }, removeOnFail: { count: 10_000 } },
          });
          next += BARE_CALL;
        }
        await queue.addBulk(jobs);
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    return await queue.getJobCounts("failed", "completed");
  } finally {
    await queue.close();
    await redis.quit().catch(() => undefined);
  }
}

async function runWorker() {
  const { REDIS_URL, UPSTREAM_URL, REDIS_KEY_PREFIX } = process.env;
  const pool = new Pool(UPSTREAM_URL, { connections: BARE_CONCURRENCY, pipelining: 1 });
  let tokens = 0;
  const worker = new Worker(
    BARE_QUEUE,
    async (job) => {
      const res = await pool.request({
        method: "GET",
        path: `/tokens/v1/solana/${job.data.mints.join(",")}`,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      tokens += job.data.mints.length;
    },
    {
      connection: connection(REDIS_URL, true),
      prefix: `{${REDIS_KEY_PREFIX}}:q`,
      concurrency: BARE_CONCURRENCY,
    },
  );
  worker.on("error", () => undefined);
  const timer = setInterval(
    () => process.stdout.write(`${JSON.stringify({ event: "bare_done", tokens })}\n`),
    1_000,
  );
  const stop = async () => {
    clearInterval(timer);
    await worker.close();
    await pool.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

if (process.argv.includes("--worker")) await runWorker();
