/**
 * Seeded pseudo-random numbers. All randomness inside the simulation comes from here, so that the
 * same seed yields the same run. The generator is sfc32 (small fast counter), seeded through
 * splitmix32 so that nearby seeds give unrelated streams.
 */

const SPLITMIX_GAMMA = 0x9e3779b9;

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + SPLITMIX_GAMMA) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes two integers into one seed, e.g. a run seed and an actor index. */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul((a >>> 0) ^ 0x27d4eb2d, 0x165667b1);
  h = Math.imul(h ^ (b >>> 0) ^ (h >>> 15), 0x85ebca77);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * A deterministic random stream. Its whole state is four 32-bit words, so it can be saved in an
 * actor's state and restored exactly.
 *
 * @example
 * const rng = new Rng(42);
 * rng.next(); // a float in [0, 1)
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A float in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A standard normal variate (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles an array in place (Fisher–Yates). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** The four state words, to save. */
  save(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  /** A generator restored from saved words. */
  static restore(words: readonly [number, number, number, number]): Rng {
    const rng = new Rng(0);
    [rng.a, rng.b, rng.c, rng.d] = words;
    return rng;
  }
}
