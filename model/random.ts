/**
 * @file A small seedable random number generator for sampling, data shuffling and tests. Any process.
 */

/**
 * mulberry32: a 32-bit state PRNG, fast and good enough for sampling tokens and shuffling training data,
 * and reproducible across runs and machines (which Math.random is not). Returns floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
