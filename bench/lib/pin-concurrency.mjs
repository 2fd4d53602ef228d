// Preloaded into the worker processes of the `fixed` mode (`node --import`): each BullMQ worker
// keeps the concurrency it was constructed with, and later changes are ignored.
//
// Why: concurrency has no flag of its own. With MAX_CONCURRENT_UNDER_LOAD equal to the maximum and
// the load thresholds at 98/99/100 % a worker starts at the maximum, but the controller still
// halves it when a CPU reading reaches 100 % (any busy neighbour on a 2-core machine) or the event
// loop's p99 reaches 250 ms, holds it while the level is "reduced", and cuts it on 429s, timeouts
// and rising latency. Measured on a shared machine, a "fixed" fleet ran at 5/7 slots instead of
// 16/24. Pinning the setter makes `fixed` mean fixed; the controller still runs (and its
// heartbeat still reports the limit it would have set, which the bench replaces by the pinned one).

import { Worker } from "bullmq";

const original = Object.getOwnPropertyDescriptor(Worker.prototype, "concurrency");
const pinned = new WeakSet();
Object.defineProperty(Worker.prototype, "concurrency", {
  configurable: true,
  get: original.get,
  set(value) {
    if (pinned.has(this)) return;
    pinned.add(this);
    original.set.call(this, value);
  },
});
