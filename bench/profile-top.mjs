#!/usr/bin/env node
// The top frames of V8 CPU profiles (node --cpu-prof, or `npm run bench -- --cpu-prof DIR`):
// self time per function, and per package (node_modules/<pkg>, @moonfleet/<pkg>, node:internal).
//   node bench/profile-top.mjs DIR [--top 25]
// The profile samples on a wall clock: on a saturated host a frame is charged the time its thread
// waited to run again (the workers' socket writes read as 11-14 %). For CPU time, bench/perf-split.mjs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "25" } },
});
const dir = positionals[0];
if (!dir) {
  console.error("usage: node bench/profile-top.mjs DIR [--top N]");
  process.exit(1);
}
const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
if (files.length === 0) {
  console.error(`profile-top: no .cpuprofile in ${dir}`);
  process.exit(1);
}

/** Where a frame's code lives: a package, the app's own code, or Node itself. */
function place(url) {
  if (!url) return "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const own = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  if (url.startsWith("node:")) return "node:internal";
  return url;
}

const byFrame = new Map();
const byPlace = new Map();
let total = 0;
for (const f of files) {
  const p = JSON.parse(readFileSync(join(dir, f), "utf8"));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  // Sample i lasted timeDeltas[i + 1] microseconds (the next delta), as Chrome's tools read it.
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  for (const [id, us] of self) {
    const n = nodes.get(id);
    const cf = n.callFrame;
    if (cf.functionName === "(idle)" || cf.functionName === "(program)") continue;
    const frame = `${cf.functionName || "(anonymous)"} ${place(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + us);
    const where = cf.functionName === "(garbage collector)" ? "(gc)" : place(cf.url);
    byPlace.set(where, (byPlace.get(where) ?? 0) + us);
    total += us;
  }
}
const show = (m, n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`,
    )
    .join("\n");
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(1)} s of busy samples (idle excluded)\n`);
console.log(`by place\n${show(byPlace, 15)}\n`);
console.log(`top frames (self time)\n${show(byFrame, Number(values.top))}`);
