/**
 * The random draws llama-perplexity makes when it scores a subset of a task file, bit for
 * bit: C++'s `std::mt19937` (the 32-bit Mersenne Twister, Matsumoto & Nishimura 1998, with
 * the seeding and tempering constants of the C++ standard, [rand.eng.mers]) and the two
 * ways tools/perplexity/perplexity.cpp turns its output into an index:
 *
 *  - HellaSwag: `std::uniform_int_distribution<size_t>(0, n − 1)` of GCC's libstdc++ (the
 *    library llama.cpp is built against here). Its range n fits 32 bits and the engine
 *    yields exactly 32 bits, so libstdc++ takes Lemire's multiply-and-reject method
 *    ("Fast Random Integer Generation in an Interval", ACM TOMACS 29(1), 2019): the 64-bit
 *    product x·n, rejected while its low half is below 2^32 mod n; the index is the high half.
 *  - Winogrande and multiple choice: no distribution, float arithmetic
 *    `int(scale · rng() · aux.size())` with `scale = 1/(1 + (float)max) = 2^-32`, every
 *    operation rounded to float32.
 */

const N = 624;
const M = 397;

export class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private i = N;

  constructor(seed = 5489) {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let k = 1; k < N; k++) {
      const prev = mt[k - 1]!;
      mt[k] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + k) >>> 0;
    }
  }

  /** The next 32-bit output, in [0, 2^32). */
  next(): number {
    const mt = this.mt;
    if (this.i >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
        mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.i = 0;
    }
    let y = mt[this.i++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

const TWO32 = 2n ** 32n;

/**
 * libstdc++'s `uniform_int_distribution<size_t>(0, n − 1)(rng)` for 1 ≤ n < 2^32 (the
 * `_S_nd` branch of bits/uniform_int_dist.h). Consumes one or more outputs of `rng`.
 */
export function uniformIndex(rng: Mt19937, n: number): number {
  const range = BigInt(n);
  let product = BigInt(rng.next()) * range;
  let low = product % TWO32;
  if (low < range) {
    const threshold = (TWO32 - range) % range;
    while (low < threshold) {
      product = BigInt(rng.next()) * range;
      low = product % TWO32;
    }
  }
  return Number(product / TWO32);
}

/**
 * perplexity.cpp's `int(scale * rng() * aux.size())` in float32 (Winogrande and
 * multiple-choice subsets). float(x) of an output near 2^32 rounds up to 2^32, and the
 * product can round up to n: llama.cpp then reads past its array; here the index is
 * clamped to n − 1 (probability about n · 2^-25 per draw).
 */
export function floatScaledIndex(rng: Mt19937, n: number): number {
  const f = Math.fround;
  const u = f(f(rng.next()) * 2 ** -32);
  const j = Math.trunc(f(u * f(n)));
  return Math.min(j, n - 1);
}

/**
 * The order in which llama-perplexity's HellaSwag scores `take` of `count` tasks: each
 * draw picks uniformly among the tasks still left (its prompt lines are erased after
 * each pick), seed 1. Returns 0-based indices into the file's tasks.
 */
export function hellaswagOrder(count: number, take: number): number[] {
  const rng = new Mt19937(1);
  const left = Array.from({ length: count }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < Math.min(take, count); i++) {
    const idx = uniformIndex(rng, left.length);
    out.push(left[idx]!);
    left.splice(idx, 1);
  }
  return out;
}

/**
 * The subset llama-perplexity's Winogrande (`--winogrande-tasks`) and multiple choice
 * (`--multiple-choice-tasks`) score: seed 1, each draw takes aux[j] and moves the last
 * entry into its place. Returns 0-based indices into the file's tasks.
 */
export function swapPopSubset(count: number, take: number): number[] {
  const rng = new Mt19937(1);
  const aux = Array.from({ length: count }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < take; i++) {
    const j = floatScaledIndex(rng, aux.length);
    out.push(aux[j]!);
    aux[j] = aux[aux.length - 1]!;
    aux.pop();
  }
  return out;
}
