#!/usr/bin/env node
// Where a process's CPU goes, from Linux perf's samples: real CPU time, unlike the V8 profile
// (`--cpu-prof`), which on a saturated host charges a frame the time its thread waited to run again
// after it was preempted (there the socket writes read as 11-14 % of a worker; perf puts them
// under 1 %). Needs root (or perf_event_paranoid <= 0) and Debian's linux-perf.
//
//   NODE_OPTIONS=--perf-basic-prof node bench/run.mjs --scenario unbounded --mode adaptive --quick &
//   sleep 9; perf record -e cpu-clock -a -g -F 997 -o /tmp/perf.data -- sleep 9
//   perf script -i /tmp/perf.data -F comm,pid,tid,ip,sym,dso > /tmp/perf.txt
//   node bench/perf-split.mjs /tmp/perf.txt                 every process's share of the samples
//   node bench/perf-split.mjs /tmp/perf.txt --pid 123,124   those processes: threads, V8's work, leaf frames
//
// `--perf-basic-prof` names the JIT's frames (JS:*name file:line); the V8 work is told apart by
// the native frames on the stack (the scavenger, the marker, the compiler).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { pid: { type: "string" }, top: { type: "string", default: "25" } },
});
if (!positionals[0]) {
  console.error("usage: node bench/perf-split.mjs PERF_SCRIPT_TXT [--pid P,Q] [--top N]");
  process.exit(1);
}
const pids = values.pid ? new Set(values.pid.split(",")) : null;

/** One sample: its process and thread, and its stack, leaf first, as "symbol (dso)". */
function* samples(text) {
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    const head = /^\s*(.+?)\s+(\d+)\/(\d+)\s*$/.exec(lines[0] ?? "");
    if (!head) continue;
    const stack = lines.slice(1).map((l) => l.trim().replace(/^\S+\s+/, ""));
    yield { comm: head[1], pid: head[2], tid: head[3], stack };
  }
}

/** What V8 or the process was doing, from the native frames on the stack. */
function work(stack) {
  const s = stack.join(" ");
  if (/Scaveng/.test(s)) return "gc: scavenge (young generation)";
  if (/Marking|MarkCompact|Sweep|Evacuat/.test(s)) return "gc: mark-compact (old generation)";
  if (/compiler::|Compil|Maglev|Turbofan/.test(s)) return "compile (JIT)";
  if (/JsonParser/.test(stack[0] ?? "")) return "JSON.parse";
  if (/JsonStringifier/.test(stack[0] ?? "")) return "JSON.stringify";
  if (/\[kernel\.kallsyms\]/.test(stack[0] ?? "")) return "kernel";
  if (/JS:/.test(stack[0] ?? "")) return "JS (JIT code)";
  return "other native (builtins, V8 runtime, libuv)";
}

const count = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
const show = (m, total, n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join("\n");

const byProcess = new Map();
const byThread = new Map();
const byWork = new Map();
const byLeaf = new Map();
const byJs = new Map();
let all = 0;
let mine = 0;
for (const s of samples(readFileSync(positionals[0], "utf8"))) {
  all++;
  count(byProcess, `${s.pid} ${s.comm}`);
  if (!pids?.has(s.pid)) continue;
  mine++;
  const bg = s.stack.some((f) => f.includes("PlatformWorkerThread"));
  count(byThread, s.pid === s.tid ? "main thread" : bg ? "V8 helper threads" : "other threads (libuv)");
  count(byWork, work(s.stack));
  count(byLeaf, (s.stack[0] ?? "?").replace(/\(\/tmp\/perf-\d+\.map\)/, "").slice(0, 120));
  const js = s.stack.find((f) => f.includes("JS:"));
  count(byJs, js ? js.replace(/\(\/tmp\/perf-\d+\.map\)/, "").slice(0, 120) : "(no JS frame)");
}
const top = Number(values.top);
console.log(`${all} samples; by process (idle is "swapper")\n${show(byProcess, all, 12)}`);
if (pids) {
  console.log(`\n${mine} samples of ${[...pids].join(", ")}`);
  console.log(`\nby thread\n${show(byThread, mine, 5)}`);
  console.log(`\nby work\n${show(byWork, mine, 10)}`);
  console.log(`\nleaf frames\n${show(byLeaf, mine, top)}`);
  console.log(`\nnearest JS frame\n${show(byJs, mine, top)}`);
}
