// What tying a call's abort signal to the process's shutdown signal costs, per call: time, and
// the heap still held after full GCs. AbortSignal.any([processSignal, own]) against eitherSignal
// (packages/upstream/src/abort.ts: a listener on each, removed when the call ends), the way every
// upstream call links its own signal and its timeout to the process's. Each way runs in rounds
// against one parent signal that lives through them, as the process's does; the heap is read after
// each round, once GC and the finalizers it queues have run.
//
//   npx tsc -b packages/upstream && node --expose-gc bench/abort-cost.mjs [calls per round] [rounds]

import { eitherSignal } from "../packages/upstream/dist/abort.js";

const { AbortController, AbortSignal, gc } = globalThis;
if (typeof gc !== "function") {
  console.error("run with node --expose-gc");
  process.exit(2);
}
const perRound = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);

const ways = {
  "AbortSignal.any": (parent) => AbortSignal.any([parent, new AbortController().signal]).aborted,
  eitherSignal: (parent) => {
    const either = eitherSignal(parent, new AbortController().signal);
    const aborted = either.signal.aborted;
    either.unlink();
    return aborted;
  },
};

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
};

for (const [name, link] of Object.entries(ways)) {
  const parent = new AbortController().signal;
  const heap = [await settle()];
  const usPerCall = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    for (let i = 0; i < perRound; i++) link(parent);
    usPerCall.push(((performance.now() - started) * 1000) / perRound);
    heap.push(await settle());
  }
  const keptPerCall = (heap.at(-1) - heap[0]) / (perRound * rounds);
  console.log(
    `${name.padEnd(16)} ${Math.min(...usPerCall).toFixed(2)} µs a call (best round), ` +
      `${keptPerCall.toFixed(1)} B of heap kept a call after ${perRound * rounds} calls ` +
      `(heap MB by round: ${heap.map((h) => (h / 1e6).toFixed(1)).join(" ")})`,
  );
}
