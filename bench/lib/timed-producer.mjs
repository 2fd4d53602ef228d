// The producer as apps/producer runs it (same createProducer, same config), with each tick timed:
// a JSON line `{ "event": "bench_tick", "ms": ..., "claimed": {...}, "jobs": {...} }` per tick.
// Used by `large-registry`, where the tick's cost at 100,000 registered tokens is the question.
// Beside each tick it times one PING on a connection of its own (`pingMs`): the round trip any
// command from this process waits at that moment, the floor under each of the three steps a tick waits on in a row.

import { detectMachine } from "../../packages/adaptive/dist/index.js";
import { resolveConfigOrExit } from "../../packages/config/dist/index.js";
import { createLogger } from "../../packages/telemetry/dist/index.js";
import { createProducer } from "../../apps/producer/dist/producer.js";
import { createRedis } from "../../packages/queues/dist/index.js";

const resolved = resolveConfigOrExit("producer", process.env, { machine: await detectMachine() });
const { config } = resolved;
const logger = createLogger("producer", config.logLevel);
const producer = createProducer({ resolved, redisUrl: config.redisUrl, logger });
const probe = createRedis(config.redisUrl, { name: "bench-probe" });
let running = true;
const stop = () => {
  running = false;
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);

await producer.live.start();
while (running) {
  const started = performance.now();
  const ping = probe.ping().then(() => performance.now() - started);
  const t = await producer.tick();
  const ms = performance.now() - started;
  const pingMs = await ping;
  const round = (x) => Math.round(x * 100) / 100;
  process.stdout.write(
    `${JSON.stringify({ event: "bench_tick", ms: round(ms), pingMs: round(pingMs), claimed: t.claimed, jobs: t.jobs })}\n`,
  );
  // as the producer's own loop: a claim cut at MAX_CLAIM_PER_TICK goes on at once
  const wait = t.more ? 0 : config.producerTickMs - ms;
  if (wait > 0 && running) await new Promise((res) => setTimeout(res, wait));
}
await producer.close();
await probe.quit();
process.exit(0);
