import { isMint } from "@moonfleet/scoring";
import type { DiscoveryOutcome } from "@moonfleet/domain";

/** PumpPortal sends small JSON frames; anything larger is refused before it is parsed. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Oldest and furthest-ahead event timestamps taken as the migration time (else: now). */
const EARLIEST_MS = Date.UTC(2020, 0, 1);
const FUTURE_SKEW_MS = 5 * 60_000;
const MAX_TEXT = 200;

export interface Migration {
  readonly kind: "migration";
  readonly mint: string;
  readonly symbol: string | undefined;
  readonly name: string | undefined;
  /** The migration time: the event's own timestamp when it has a sane one, else when it arrived. */
  readonly at: number;
}
export interface Dropped {
  readonly kind: "dropped";
  readonly outcome: Exclude<DiscoveryOutcome, "registered" | "duplicate" | "deleted_recently">;
}
export type ParsedMessage = Migration | Dropped;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const text = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim() !== "" ? v.trim().slice(0, MAX_TEXT) : undefined;

/** An event time in ms (numbers in s or ms, or an ISO string), when it is a sane one. */
function eventTime(v: unknown, now: number): number | undefined {
  let ms: number | undefined;
  if (typeof v === "number" && Number.isFinite(v)) ms = v < 1e12 ? v * 1000 : v;
  else if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    ms = Number.isFinite(n) ? (n < 1e12 ? n * 1000 : n) : Date.parse(v);
  }
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  return ms >= EARLIEST_MS && ms <= now + FUTURE_SKEW_MS ? Math.round(ms) : undefined;
}

/**
 * One frame of the migration stream: the payload is `message`, `payload` or `data` when that is an
 * object, else the message itself; mint = `mint` or `token`; symbol = `symbol` or `ticker`. Never
 * throws: a frame that is not a migration with a valid Solana mint says why it was dropped.
 */
export function parseMigration(frame: string | Buffer, now: number): ParsedMessage {
  const size = typeof frame === "string" ? Buffer.byteLength(frame) : frame.length;
  if (size > MAX_MESSAGE_BYTES) return { kind: "dropped", outcome: "oversized" };
  let msg: unknown;
  try {
    msg = JSON.parse(typeof frame === "string" ? frame : frame.toString("utf8"));
  } catch {
    return { kind: "dropped", outcome: "not_json" };
  }
  if (!isObject(msg)) return { kind: "dropped", outcome: "no_mint" };
  const inner = [msg.message, msg.payload, msg.data].find(isObject);
  const p = inner ?? msg;
  const mint = p.mint ?? p.token;
  if (mint === undefined || mint === null) return { kind: "dropped", outcome: "no_mint" };
  if (!isMint(mint)) return { kind: "dropped", outcome: "invalid_mint" };
  return {
    kind: "migration",
    mint,
    symbol: text(p.symbol) ?? text(p.ticker),
    name: text(p.name),
    at: eventTime(p.timestamp ?? p.timestampMs ?? p.time ?? msg.timestamp, now) ?? now,
  };
}
