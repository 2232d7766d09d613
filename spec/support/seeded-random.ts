import { randomInt } from 'node:crypto';

/** A seeded pseudo-random source (mulberry32): the same seed draws the same numbers, so a failure replays. */
export interface SeededRandom {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
}

export function seededRandom(seed: number): SeededRandom {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed: seed >>> 0, next, between: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

/** The seed named by the environment variable `name` (to replay a run), or a fresh random one. */
export function seedFromEnv(name: string): number {
  const text = process.env[name];
  if (text === undefined || text === '') return randomInt(0, 2 ** 32);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`${name}=${text}: want an integer from 0 to 4294967295`);
  return seed;
}
