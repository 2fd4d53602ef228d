import { z } from "zod";

// Solana addresses are base58: digits and letters without 0, O, I and l.
const BASE58_MINT = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

export const mintSchema = z
  .string()
  .regex(BASE58_MINT, "mint must be a base58 address of 32 to 44 characters (no 0, O, I or l)");

export type Mint = z.infer<typeof mintSchema>;

export function isMint(s: unknown): s is Mint {
  return mintSchema.safeParse(s).success;
}
