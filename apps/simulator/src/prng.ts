// Small, fast, seeded randomness. Nothing here is cryptographic: the simulator only needs answers
// that are stable for a given seed and cheap to compute on every request.

/** A 32-bit hash of a string (FNV-1a, then a murmur3 finalizer to spread the bits). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Mixes two 32-bit integers into one well-spread 32-bit integer. */
export function mix32(a: number, b: number): number {
  return fmix32((a ^ Math.imul(b | 0, 0x9e3779b1)) + 0x6d2b79f5);
}

/** A deterministic uniform value in [0, 1) for the pair (seed, key). */
export function unitNoise(seed: number, key: number): number {
  return mix32(seed, key) / 4294967296;
}

/** mulberry32: a seeded generator of uniform values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator seeded from a string. */
export function createRng(seed: string): () => number {
  return mulberry32(hashString(seed));
}

function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
