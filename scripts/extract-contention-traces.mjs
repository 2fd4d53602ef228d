#!/usr/bin/env node
// Takes the co-tenant rule's inputs, as each worker's controller saw them (the heartbeat's `cpu`
// block, sampled every second by the bench), out of benchmark results and writes them as the
// recorded traces packages/adaptive/test/contention-trace.test.ts replays.
// usage: node scripts/extract-contention-traces.mjs NAME=bench/results/<cell>.json ...
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { URL } from "node:url";

const OUT = new URL("../packages/adaptive/test/traces/contention.json", import.meta.url);
const traces = [];
for (const arg of process.argv.slice(2)) {
  const [name, file] = arg.split("=");
  if (!name || !file) throw new Error(`expected NAME=FILE, got ${arg}`);
  const cell = JSON.parse(readFileSync(file, "utf8"));
  const labels = [...new Set(cell.series.flatMap((row) => Object.keys(row.workers)))].filter((l) =>
    cell.series.some((row) => row.workers[l]?.cpuSplit),
  );
  for (const worker of labels) {
    const readings = cell.series
      .filter((row) => row.workers[worker]?.cpuSplit)
      .map((row) => {
        const c = row.workers[worker].cpuSplit;
        return {
          tS: Math.round(row.tMs / 100) / 10,
          phase: row.phase,
          hostPercent: c.hostPercent,
          fleetPercent: c.fleetPercent,
          contention: c.contention,
        };
      });
    traces.push({
      name,
      source: file.replace(/^.*bench\/results\//, "bench/results/"),
      scenario: cell.scenario,
      mode: cell.mode,
      worker,
      loadavgAtStart: cell.loadavgAtStart,
      readings,
    });
  }
}
writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      description:
        "Each worker's split of the host's CPU (smoothed host and fleet percent, and the contention phase its controller was in), sampled every second by `npm run bench`; see scripts/extract-contention-traces.mjs",
      extractedAt: new Date().toISOString(),
      loadavgAtExtract: loadavg().map((x) => Math.round(x * 100) / 100),
      traces,
    },
    null,
    1,
  )}\n`,
);
console.log(`wrote ${traces.length} traces to ${OUT.pathname}`);
