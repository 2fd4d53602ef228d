// The calm view of `npm start` in a terminal: the banner stays readable, one summary line every
// 10 s, and only warnings and errors of the apps, in plain words. Pure functions; main.ts applies them.

/** pino's numeric levels. */
const LEVELS: Readonly<Record<number, string>> = { 40: "warn", 50: "error", 60: "fatal" };

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/**
 * One line of an app's output as the calm view shows it: warnings and errors as
 * `HH:MM:SS warn  worker-1  message (detail)`, nothing for lower levels, and text that is not a
 * JSON log line (a crash's stack trace) as it is.
 */
export function calmLine(label: string, line: string, now: number): string | null {
  if (line.trim() === "") return null;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return `${clock(now)} ${label.padEnd(10)} ${line}`;
  }
  if (typeof entry !== "object" || entry === null) return null;
  const e = entry as { level?: unknown; msg?: unknown; time?: unknown; err?: unknown; reason?: unknown };
  const level =
    typeof e.level === "number" ? LEVELS[e.level] : typeof e.level === "string" ? e.level : undefined;
  if (level !== "warn" && level !== "error" && level !== "fatal") return null;
  const detail = [e.reason, e.err].find((d) => typeof d === "string" && d !== "");
  const at = typeof e.time === "number" ? e.time : now;
  const msg = typeof e.msg === "string" ? e.msg : "(no message)";
  return `${clock(at)} ${level.padEnd(5)} ${label.padEnd(10)} ${msg}${typeof detail === "string" ? ` (${detail})` : ""}`;
}

interface LaneHealth {
  readonly tokensPerSecond?: number;
  readonly staleness?: { readonly p95?: number | null; readonly ttlSeconds?: number };
}
export interface SchedulerHealth {
  readonly status?: string;
  readonly lanes?: Readonly<Record<string, LaneHealth>>;
  readonly upstream?: {
    readonly budget?: { readonly usedLastMinute?: number; readonly limitPerMinute?: number };
  };
  readonly workers?: ReadonlyArray<{ readonly level?: string }>;
}

/** The summary line: tokens/s and staleness p95 against TTL per lane, budget use, workers, load. */
export function summaryLine(h: SchedulerHealth, now: number): string {
  const lanes = Object.entries(h.lanes ?? {}).map(([lane, l]) => {
    const p95 = l.staleness?.p95;
    return `${lane} ${(l.tokensPerSecond ?? 0).toFixed(1)} tok/s, p95 ${p95 === null || p95 === undefined ? "-" : Math.round(p95)}/${l.staleness?.ttlSeconds ?? "?"} s`;
  });
  const b = h.upstream?.budget;
  const levels = (h.workers ?? []).map((w) => w.level ?? "?");
  const load = levels.includes("high")
    ? "high"
    : levels.includes("reduced")
      ? "reduced"
      : levels.length
        ? "normal"
        : "-";
  return [
    `${clock(now)} ${(h.status ?? "?").padEnd(8)}`,
    ...lanes,
    `budget ${b?.usedLastMinute ?? "-"}/${b?.limitPerMinute ?? "-"} per min`,
    `${levels.length} workers`,
    `load ${load}`,
  ].join(" | ");
}

/** Lines of a stream, however its chunks are cut. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let rest = "";
  return (chunk) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() ?? "";
    for (const p of parts) onLine(p);
  };
}
