import { z } from "zod";

// Solana addresses are base58: digits and letters without 0, O, I and l.
const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE58_MINT = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;
const DIGITS: ReadonlyMap<string, number> = new Map(Array.from(BASE58_ALPHABET, (c, i) => [c, i]));
/** A Solana address is an ed25519 public key: 32 bytes. */
export const MINT_BYTES = 32;

/**
 * Bitcoin-style base58 to bytes (each leading "1" is a zero byte); null for a character outside
 * the alphabet. No base58 library is installed, and an address is at most 44 characters, so the
 * quadratic schoolbook conversion is plenty.
 */
export function decodeBase58(text: string): Uint8Array | null {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  const little: number[] = []; // the number's bytes, least significant first
  for (let i = zeros; i < text.length; i++) {
    let carry = DIGITS.get(text.charAt(i));
    if (carry === undefined) return null;
    for (let j = 0; j < little.length; j++) {
      carry += (little[j] ?? 0) * 58;
      little[j] = carry & 0xff;
      carry >>= 8;
    }
    for (; carry > 0; carry >>= 8) little.push(carry & 0xff);
  }
  const bytes = new Uint8Array(zeros + little.length);
  little.forEach((b, k) => (bytes[bytes.length - 1 - k] = b));
  return bytes;
}

export const mintSchema = z
  .string()
  .regex(BASE58_MINT, "mint must be a base58 address of 32 to 44 characters (no 0, O, I or l)")
  .superRefine((text, ctx) => {
    // The characters alone let through strings of 23 to 33 bytes: only 32 is an address.
    if (!BASE58_MINT.test(text)) return; // the regex has said why
    const bytes = decodeBase58(text)?.length ?? 0;
    if (bytes !== MINT_BYTES)
      ctx.addIssue({
        code: "custom",
        input: text,
        message: `mint must decode to a ${MINT_BYTES}-byte address, this one decodes to ${bytes} bytes`,
      });
  });

/**
 * The character check alone, as older versions registered mints: for reading and deleting what
 * is already stored (a 33-byte string registered before the byte check must stay removable).
 */
export const storedMintSchema = z
  .string()
  .regex(BASE58_MINT, "mint must be a base58 address of 32 to 44 characters (no 0, O, I or l)");

export type Mint = z.infer<typeof mintSchema>;

export function isMint(s: unknown): s is Mint {
  return mintSchema.safeParse(s).success;
}
