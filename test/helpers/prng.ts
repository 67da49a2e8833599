// a small seeded prng (mulberry32) so fuzz and fault tests are random but reproducible: a failing run prints its
// seed, and TDF_SEED=<seed> runs the same sequence again.

export interface Prng {
  readonly seed: number;
  /** [0, 1) */
  next(): number;
  /** an integer in [min, max] */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
  bool(pTrue?: number): boolean;
}

export function seedFromEnv(fallback: number): number {
  const s = process.env.TDF_SEED;
  return s !== undefined && /^\d+$/.test(s) ? Number(s) >>> 0 : fallback >>> 0;
}

export function createPrng(seed: number): Prng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed: seed >>> 0,
    next,
    int,
    pick: (items) => items[int(0, items.length - 1)]!,
    bytes(n) {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(0, 255);
      return b;
    },
    bool: (pTrue = 0.5) => next() < pTrue,
  };
}
