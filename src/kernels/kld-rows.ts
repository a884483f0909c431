/**
 * Per-position arithmetic of KL-divergence evaluation, one row of the vocabulary at a time.
 *
 * Shapes: a row is V consecutive float32 log-probabilities (nats) of one scored position,
 * `row[o + v]`; a base row in llama.cpp's storage is `nv = 2·⌈V/2⌉ + 4` uint16 values:
 * two float32 (scale, min_log_prob) in the first four uint16, then V quantised values
 * (see docs/kld-format.md).
 *
 * Two ways to compare a model Q with a base P at one position:
 *  - exact (`kldRowExact`): P and Q are the engines' float32 log-probabilities; sums in
 *    float64 over the whole vocabulary: KL(P‖Q) = Σ p_v (ln p_v − ln q_v).
 *  - llama.cpp (`quantizeBaseRow` + `kldRowLlama`): llama-perplexity's own arithmetic
 *    (tools/perplexity/perplexity.cpp: log_softmax with uint16 storage and the
 *    kl_divergence variant), float32 operations emulated with Math.fround, so that the
 *    printed figures are llama.cpp's. Entries with ln p ≤ −16 are left out of the sum and
 *    the base's log-probabilities are quantised, hence slightly negative KLDs.
 * Shift invariance: llama.cpp works on raw logits; these functions take log-probabilities,
 * which differ from the logits by a per-row constant, so the results agree up to float32
 * rounding of that constant.
 */

const f = Math.fround;

/** What one scored position contributes. All in nats except the probabilities. */
export interface KldRow {
  /** KL(base ‖ model) at this position. */
  kld: number;
  /** −ln q(true token). */
  nllModel: number;
  /** −ln p(true token). */
  nllBase: number;
  /** q(true) − p(true). */
  pDiff: number;
  /** argmax p = argmax q. */
  sameTop: boolean;
  /** Jensen–Shannon divergence (nats), NaN when not computed. */
  jsd: number;
  /** |top-k(p) ∩ top-k(q)| / k, NaN when not computed. */
  topkOverlap: number;
}

export function newKldRow(): KldRow {
  return { kld: 0, nllModel: 0, nllBase: 0, pDiff: 0, sameTop: false, jsd: NaN, topkOverlap: NaN };
}

/** uint16 values per stored base row (llama.cpp's nv). */
export function baseRowWidth(V: number): number {
  return 2 * Math.floor((V + 1) / 2) + 4;
}

/** llama.cpp's nearest_int: round half to even through the 1.5·2²³ float trick. */
function nearestInt(x: number): number {
  return f(x + 12582912) - 12582912;
}

/**
 * llama.cpp's base-pass log_softmax: writes row `x[o … o+V)` into `out[bo … bo+nv)`
 * (scale and min_log_prob as float32 in the first 4 uint16, then the quantised values)
 * and returns the NLL of `tok` as llama.cpp computes it. `f32` is a Float32Array view
 * on the same buffer as `out` (header writes).
 */
export function quantizeBaseRow(
  x: Float32Array,
  o: number,
  V: number,
  tok: number,
  out: Uint16Array,
  f32: Float32Array,
  bo: number,
): number {
  let mx = x[o]!;
  let mn = mx;
  for (let v = 1; v < V; v++) {
    const y = x[o + v]!;
    if (y > mx) mx = y;
    if (y < mn) mn = y;
  }
  const minL = Math.max(mn, f(mx - 16));
  let s = 0;
  for (let v = 0; v < V; v++) s += f(Math.exp(f(x[o + v]! - mx)));
  const lse = f(Math.log(s));
  const minLogProb = f(f(minL - mx) - lse);
  const scale = f(f(mx - minL) / 65535);
  // bo is a uint16 index; the header's two float32 sit at float index bo/2 (bo is even).
  f32[bo >> 1] = scale;
  f32[(bo >> 1) + 1] = minLogProb;
  const q = bo + 4;
  if (scale !== 0) {
    const inv = f(1 / scale);
    for (let v = 0; v < V; v++) {
      const y = x[o + v]!;
      out[q + v] = y > minL ? nearestInt(f(inv * f(y - minL))) : 0;
    }
  } else {
    out.fill(0, q, q + V);
  }
  return f(f(mx + lse) - x[o + tok]!);
}

/**
 * llama.cpp's kl_divergence log_softmax: model row `x[o … o+V)` against the stored base
 * row at `base[bo …]` (`f32` views the same buffer), true token `tok`. Fills `r`.
 */
export function kldRowLlama(
  x: Float32Array,
  o: number,
  V: number,
  base: Uint16Array,
  f32: Float32Array,
  bo: number,
  tok: number,
  r: KldRow,
): void {
  let mx = x[o]!;
  let imax = 0;
  for (let v = 1; v < V; v++) {
    const y = x[o + v]!;
    if (y > mx) {
      mx = y;
      imax = v;
    }
  }
  let s = 0;
  for (let v = 0; v < V; v++) s += f(Math.exp(f(x[o + v]! - mx)));
  const lse = f(Math.log(s));
  const scale = f32[bo >> 1]!;
  const minLogProb = f32[(bo >> 1) + 1]!;
  const q = bo + 4;
  const nll = f(f(mx + lse) - x[o + tok]!);
  const nllBase = -f(f(scale * base[q + tok]!) + minLogProb);
  const top = f(mx + lse);
  let sum = 0;
  let imaxBase = -1;
  let pmax = 0;
  for (let v = 0; v < V; v++) {
    const plb = f(f(scale * base[q + v]!) + minLogProb);
    if (v === 0 || plb > pmax) {
      pmax = plb;
      imaxBase = v;
    }
    if (plb > -16) {
      const pb = f(Math.exp(plb));
      sum += f(pb * f(f(plb - x[o + v]!) + top));
    }
  }
  r.kld = sum;
  r.nllModel = nll;
  r.nllBase = nllBase;
  r.sameTop = imax === imaxBase;
  r.pDiff = f(f(Math.exp(-nll)) - f(Math.exp(-nllBase)));
  r.jsd = NaN;
  r.topkOverlap = NaN;
}

/**
 * Exact comparison of two float32 log-probability rows (base `b` at `bo`, model `m` at
 * `mo`), sums in float64: KL(P‖Q), and optionally the Jensen–Shannon divergence
 *   JSD = ½ Σ p ln(p/μ) + ½ Σ q ln(q/μ),  μ = (p + q)/2
 * and the top-k overlap (`k` > 0). Fills `r`.
 */
export function kldRowExact(
  b: Float32Array,
  bo: number,
  m: Float32Array,
  mo: number,
  V: number,
  tok: number,
  r: KldRow,
  jsd: boolean,
  k: number,
  scratch?: TopkScratch,
): void {
  let kl = 0;
  let js = 0;
  let bmax = -Infinity;
  let ib = 0;
  let mmax = -Infinity;
  let im = 0;
  for (let v = 0; v < V; v++) {
    const lb = b[bo + v]!;
    const lm = m[mo + v]!;
    if (lb > bmax) {
      bmax = lb;
      ib = v;
    }
    if (lm > mmax) {
      mmax = lm;
      im = v;
    }
    if (lb === -Infinity) {
      if (jsd && lm !== -Infinity) js += 0.5 * Math.exp(lm) * Math.LN2;
      continue;
    }
    const p = Math.exp(lb);
    kl += p * (lb - lm);
    if (jsd) {
      const q = Math.exp(lm);
      const lmu = Math.log(0.5 * (p + q));
      js += 0.5 * (p * (lb - lmu) + (q > 0 ? q * (lm - lmu) : 0));
    }
  }
  r.kld = kl;
  r.nllBase = -b[bo + tok]!;
  r.nllModel = -m[mo + tok]!;
  r.sameTop = ib === im;
  r.pDiff = Math.exp(-r.nllModel) - Math.exp(-r.nllBase);
  r.jsd = jsd ? js : NaN;
  r.topkOverlap = k > 0 ? topkOverlap(b, bo, m, mo, V, k, scratch ?? newTopkScratch(k)) : NaN;
}

/** Reusable buffers for `topkOverlap` (k ids and values for each row). */
export interface TopkScratch {
  k: number;
  ids: Int32Array;
  vals: Float64Array;
  idsB: Int32Array;
}

export function newTopkScratch(k: number): TopkScratch {
  return { k, ids: new Int32Array(k), vals: new Float64Array(k), idsB: new Int32Array(k) };
}

/** The k largest entries' indices of row x[o … o+V) into ids (an insertion-sorted buffer: O(V) for small k). */
function topk(x: Float32Array, o: number, V: number, k: number, ids: Int32Array, vals: Float64Array): number {
  const n = Math.min(k, V);
  let filled = 0;
  for (let v = 0; v < V; v++) {
    const y = x[o + v]!;
    if (filled === n && !(y > vals[n - 1]!)) continue;
    let i = filled < n ? filled++ : n - 1;
    while (i > 0 && vals[i - 1]! < y) {
      vals[i] = vals[i - 1]!;
      ids[i] = ids[i - 1]!;
      i--;
    }
    vals[i] = y;
    ids[i] = v;
  }
  return n;
}

/** |top-k(b) ∩ top-k(m)| / k. */
export function topkOverlap(
  b: Float32Array,
  bo: number,
  m: Float32Array,
  mo: number,
  V: number,
  k: number,
  s: TopkScratch,
): number {
  const n = topk(b, bo, V, k, s.idsB, s.vals);
  topk(m, mo, V, k, s.ids, s.vals);
  let common = 0;
  for (let i = 0; i < n; i++) {
    const t = s.idsB[i]!;
    for (let j = 0; j < n; j++)
      if (s.ids[j] === t) {
        common++;
        break;
      }
  }
  return common / n;
}
