/**
 * A counter-based pseudo-random generator for weight initialisation and batch
 * sampling. Value i of stream s under seed k is a pure function of (k, s, i):
 *
 *   key(k, s) = fmix32(fmix32(k) + s · 0x9E3779B9)
 *   bits(i)   = fmix32(fmix32(i) ^ key)             (uint32)
 *   u(i)      = (bits(i) + 0.5) / 2^32              (float64 in (0, 1))
 *
 * fmix32 is MurmurHash3's finaliser (a bijection on uint32). Being stateless, it
 * makes resumed runs continue exactly (the state is one counter) and lets the
 * PyTorch fixture generator (fixtures/train/make_lstm_fixture.py) rebuild the very
 * same initial weights with numpy instead of shipping megabytes of them.
 */

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function streamKey(seed: number, stream: number): number {
  return fmix32((fmix32(seed >>> 0) + Math.imul(stream >>> 0, 0x9e3779b9)) >>> 0);
}

const TWO_POW_M32 = 2 ** -32;

/** u(i) ∈ (0, 1) of the stream with this key. */
export function uniformAt(key: number, i: number): number {
  return (fmix32((fmix32(i >>> 0) ^ key) >>> 0) + 0.5) * TWO_POW_M32;
}

/** Fills `out` with U(lo, hi) values i = 0 … out.length−1 of stream `stream` (computed in float64, rounded once). */
export function fillUniform(
  out: Float32Array | Float64Array,
  seed: number,
  stream: number,
  lo: number,
  hi: number,
): void {
  const key = streamKey(seed, stream);
  const span = hi - lo;
  for (let i = 0; i < out.length; i++) out[i] = lo + span * uniformAt(key, i);
}

/** Fills `out` with N(mean, std²) values by Box–Muller on the uniform pairs (2i, 2i+1). */
export function fillNormal(
  out: Float32Array | Float64Array,
  seed: number,
  stream: number,
  mean: number,
  std: number,
): void {
  const key = streamKey(seed, stream);
  for (let i = 0; i < out.length; i++) {
    const u1 = uniformAt(key, 2 * i);
    const u2 = uniformAt(key, 2 * i + 1);
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/**
 * A sequential generator over one stream: the whole state is { seed, stream, counter },
 * which a checkpoint stores so that a resumed run draws the same batches.
 */
export class CounterRng {
  private readonly key: number;
  constructor(
    readonly seed: number,
    readonly stream: number,
    public counter = 0,
  ) {
    this.key = streamKey(seed, stream);
  }
  /** Next value in (0, 1). */
  next(): number {
    return uniformAt(this.key, this.counter++);
  }
  /** Next integer in [0, n). */
  nextInt(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
  state(): { seed: number; stream: number; counter: number } {
    return { seed: this.seed, stream: this.stream, counter: this.counter };
  }
}

/** n token ids uniform in [0, V): floor(u(i)·V) for i = 0 … n−1 of the stream. */
export function randomTokens(n: number, V: number, seed: number, stream: number): Int32Array {
  const key = streamKey(seed, stream);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(uniformAt(key, i) * V);
  return out;
}
