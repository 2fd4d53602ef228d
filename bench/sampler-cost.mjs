// What one controller sample costs: wall time, and the CPU time it takes on the event-loop thread
// (time no job callback can run; the file reads themselves happen on libuv's thread pool). Compares
// createSampler() with systeminformation's currentLoad(), which the sampler avoids. Linux only: the
// loop thread's CPU time comes from /proc/self/task/<pid>/schedstat (ns). On a loaded host the wall
// time includes waiting for a CPU; the loop-thread CPU time does not.
//
//   npx tsc -b packages/adaptive && node bench/sampler-cost.mjs [samples]

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import si from "systeminformation";
import { createSampler } from "../packages/adaptive/dist/sampler.js";

const SAMPLES = Number(process.argv[2] ?? 1000);
const CURRENT_LOAD_CALLS = 20;

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** CPU time of the main (event-loop) thread so far, µs. The kernel updates it at scheduler ticks,
 *  so it is only meaningful summed over many calls: the table gives its mean. */
function loopThreadCpuUs() {
  return Number(readFileSync(SCHEDSTAT, "utf8").split(" ")[0]) / 1000;
}

/** Runs `call` n times one after another: wall µs per call, and loop-thread CPU µs per call. */
async function measure(n, call, pauseMs = 0) {
  const wall = [];
  let loopCpu = 0;
  for (let i = 0; i < n; i++) {
    if (pauseMs > 0) await sleep(pauseMs);
    const cpu = loopThreadCpuUs();
    const start = performance.now();
    await call();
    wall.push((performance.now() - start) * 1000);
    loopCpu += loopThreadCpuUs() - cpu;
  }
  wall.sort((a, b) => a - b);
  return {
    wallMean: wall.reduce((sum, v) => sum + v, 0) / n,
    wallP99: wall[Math.ceil(0.99 * n) - 1] ?? 0,
    wallMax: wall.at(-1) ?? 0,
    loopCpuMean: loopCpu / n,
  };
}

const sampler = createSampler();
await sleep(200);
for (let i = 0; i < 100; i++) await sampler.sample(); // warm up the JIT and open the files
for (let i = 0; i < 100; i++) await si.mem();
await si.currentLoad(); // the first call only primes its own counters

const rows = [
  [`await noop x${SAMPLES} (overhead)`, await measure(SAMPLES, () => Promise.resolve())],
  [`sampler.sample() x${SAMPLES}`, await measure(SAMPLES, () => sampler.sample())],
  [`si.mem() x${SAMPLES}`, await measure(SAMPLES, () => si.mem())],
  [`si.currentLoad() x${CURRENT_LOAD_CALLS}`, await measure(CURRENT_LOAD_CALLS, () => si.currentLoad(), 100)],
];
sampler.close();

const us = (v) => v.toFixed(0).padStart(10);
const load = loadavg()[0]?.toFixed(2);
console.log(`node ${process.version}, ${process.platform}/${process.arch}, load ${load}; µs per call`);
console.log(
  `${"".padEnd(34)}${"wall mean".padStart(10)}${"p99".padStart(10)}${"max".padStart(10)}${"loop CPU".padStart(10)}`,
);
for (const [name, r] of rows) {
  console.log(`${name.padEnd(34)}${us(r.wallMean)}${us(r.wallP99)}${us(r.wallMax)}${us(r.loopCpuMean)}`);
}
