export const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

const mintPattern = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

// 58^5: digits are produced five at a time, and limb * 65536 + carry stays below 2^53.
const LIMB = 656_356_768;
const POWERS = [1, 58, 58 ** 2, 58 ** 3, 58 ** 4];
const ALPHABET_CODES = Array.from(BASE58_ALPHABET, (c) => c.charCodeAt(0));

/** Bitcoin-style base58 (the encoding of Solana addresses). */
export function encodeBase58(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // Little-endian limbs in base 58^5 of the big-endian number in `bytes`, fed 16 bits at a time.
  const limbs: number[] = [];
  const feed = (value: number, multiplier: number) => {
    let carry = value;
    for (let j = 0; j < limbs.length; j++) {
      carry += (limbs[j] ?? 0) * multiplier;
      limbs[j] = carry % LIMB;
      carry = Math.floor(carry / LIMB);
    }
    while (carry > 0) {
      limbs.push(carry % LIMB);
      carry = Math.floor(carry / LIMB);
    }
  };
  let i = zeros;
  if ((bytes.length - zeros) % 2 === 1) feed(bytes[i++] ?? 0, 256);
  for (; i < bytes.length; i += 2) feed((bytes[i] ?? 0) * 256 + (bytes[i + 1] ?? 0), 65536);
  // Char codes into one flat string: concatenating characters would keep a rope of small strings alive.
  const codes: number[] = [];
  for (let z = 0; z < zeros; z++) codes.push(ALPHABET_CODES[0] ?? 0);
  for (let j = limbs.length - 1; j >= 0; j--) {
    const value = limbs[j] ?? 0;
    for (let d = 4; d >= 0; d--) {
      const digit = Math.floor(value / (POWERS[d] ?? 1)) % 58;
      // The top limb's leading zero digits are padding, not part of the number.
      if (j === limbs.length - 1 && digit === 0 && codes.length === zeros) continue;
      codes.push(ALPHABET_CODES[digit] ?? 0);
    }
  }
  return String.fromCharCode(...codes);
}

/** True when `text` looks like a Solana address: 32 to 44 base58 characters. */
export function isMintLike(text: string): boolean {
  return mintPattern.test(text);
}
