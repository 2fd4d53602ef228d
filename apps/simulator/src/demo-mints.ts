import { encodeBase58 } from "./base58.js";
import { createRng } from "./prng.js";

/** 32 seeded bytes, base58-encoded; a non-zero first byte keeps the length at 43 or 44 characters. */
export function seededAddress(next: () => number): string {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Math.floor(next() * 256);
  if (bytes[0] === 0) bytes[0] = 1;
  return encodeBase58(bytes);
}

/**
 * Deterministic, distinct, Solana-like mint addresses. The list for a seed is a stream, so
 * `demoMints(10)` is a prefix of `demoMints(1000)`.
 */
export function demoMints(count: number, seed = "moonfleet"): string[] {
  const next = createRng(`demo-mints:${seed}`);
  const seen = new Set<string>();
  const mints: string[] = [];
  while (mints.length < count) {
    const mint = seededAddress(next);
    if (seen.has(mint)) continue;
    seen.add(mint);
    mints.push(mint);
  }
  return mints;
}
