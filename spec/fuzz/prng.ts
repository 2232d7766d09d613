/**
 * A small seeded PRNG (sfc32) for the fuzz run. Every input is generated from its own stream,
 * derived from the run seed and the input's index, so any input can be regenerated alone:
 * `new Prng(deriveSeed(seed, index))`.
 */

/** Mixes a run seed and an input index into a 32-bit seed (murmur3's finalizer over both). */
export function deriveSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A fresh random 32-bit seed, for runs that were not given one. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, bound). `bound` must be at least 1 and at most 2^32. */
  below(bound: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * bound);
  }

  /** An integer in [min, max], both inclusive. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p * 0x1_0000_0000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.below(items.length)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [weight] of table) total += weight;
    let roll = this.below(total);
    for (const [weight, value] of table) {
      if (roll < weight) return value;
      roll -= weight;
    }
    throw new RangeError('weighted pick from an empty table');
  }

  /** `length` uniform random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    let i = 0;
    for (; i + 4 <= length; i += 4) {
      const word = this.next();
      out[i] = word;
      out[i + 1] = word >>> 8;
      out[i + 2] = word >>> 16;
      out[i + 3] = word >>> 24;
    }
    for (; i < length; i++) out[i] = this.next();
    return out;
  }

  /**
   * A length biased towards small values: usually under `typical`, now and then up to `max`.
   * Keeps most fuzz inputs tiny (fast) while still reaching the large ones.
   */
  size(typical: number, max: number): number {
    const roll = this.below(100);
    if (roll < 10) return this.below(Math.min(16, typical) + 1);
    if (roll < 97) return this.below(typical + 1);
    return this.below(max + 1);
  }
}
