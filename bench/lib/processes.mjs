// Child processes of one benchmark cell: start them with a label, keep their JSON log lines, stop
// them gracefully (SIGTERM, then SIGKILL after a grace period), and read what the kernel knows about
// them (/proc/<pid>/stat CPU ticks, /proc/<pid>/status peak RSS).

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { SETTINGS } from "../../packages/config/dist/index.js";

const { fetch, AbortSignal } = globalThis;

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const appMain = (app) => join(ROOT, "apps", app, "dist", "main.js");
export const log = (msg) => process.stdout.write(`bench: ${msg}\n`);

/** The inherited environment without any moonfleet setting, so a run does not depend on the shell. */
export const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !SETTINGS.some((s) => s.env === k)),
);

const CLK_TCK = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; null when it is gone. */
export function cpuSeconds(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Peak resident set size (VmHWM) of a process in MB; null when it is gone. */
export function peakRssMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** A set of labelled children; `onLine(label, obj)` gets every JSON line they print on stdout. */
export class Fleet {
  constructor(onLine = () => undefined) {
    this.children = new Map();
    this.onLine = onLine;
  }

  start(label, args, env, { role = "moonfleet", cmd = process.execPath } = {}) {
    const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const entry = { label, role, proc, pid: proc.pid, stderr: "", exit: null };
    entry.exited = new Promise((res) =>
      proc.once("exit", (code, signal) => {
        entry.exit = { code, signal };
        res(entry.exit);
      }),
    );
    createInterface({ input: proc.stdout }).on("line", (line) => {
      if (line[0] !== "{") return;
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        return;
      }
      this.onLine(label, obj);
    });
    proc.stderr.on("data", (d) => {
      entry.stderr = (entry.stderr + d.toString()).slice(-4000);
    });
    this.children.set(label, entry);
    return entry;
  }

  /** Adds a process started elsewhere (redis-server) so its CPU and RSS are measured too. */
  adopt(label, proc, role = "moonfleet") {
    const entry = { label, role, proc, pid: proc.pid, stderr: "", exit: null, exited: Promise.resolve() };
    this.children.set(label, entry);
    return entry;
  }

  /** Throws when a child that should be running has exited. */
  assertAlive() {
    for (const [label, c] of this.children)
      if (c.exit && c.role !== "hog")
        throw new Error(`${label} exited early (${JSON.stringify(c.exit)}): ${c.stderr.trim().slice(-800)}`);
  }

  async stop(label, graceMs = 8_000) {
    const entry = this.children.get(label);
    if (!entry || entry.exit || !entry.proc.kill) return;
    entry.proc.kill("SIGTERM");
    const done = await Promise.race([entry.exited, sleep(graceMs).then(() => null)]);
    if (done === null) {
      entry.proc.kill("SIGKILL");
      await entry.exited;
      entry.forced = true;
    }
  }

  async stopWhere(pred, graceMs) {
    const labels = [...this.children.values()].filter((c) => pred(c) && !c.exit).map((c) => c.label);
    await Promise.all(labels.map((l) => this.stop(l, graceMs)));
  }

  /** CPU seconds per label, now. */
  cpu() {
    const out = {};
    for (const [label, c] of this.children) out[label] = cpuSeconds(c.pid);
    return out;
  }

  peakRss() {
    const out = {};
    for (const [label, c] of this.children) if (c.role !== "hog") out[label] = peakRssMb(c.pid);
    return out;
  }
}

export async function waitFor(url, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
}

export async function getJson(url, timeoutMs = 5_000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

export async function patchSimulator(simUrl, patch) {
  const res = await fetch(`${simUrl}/admin/settings`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(patch),
  });
  if (!res.ok) throw new Error(`PATCH /admin/settings: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}
