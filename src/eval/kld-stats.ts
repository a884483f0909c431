/**
 * Running statistics of a KL-divergence evaluation and their summary, with
 * llama-perplexity's formulas (tools/perplexity/perplexity.cpp, kl_divergence):
 *
 *   mean_and_uncertainty(Σx, Σx², n) = (m, sqrt((Σx²/n − m²)/(n−1)))   (0 when n ≤ 10 or the variance ≤ 0)
 *   cov(a, b) = (Σab/n − (Σa/n)(Σb/n))/(n−1)                            (0 when n < 10)
 *   PPL = e^m ± e^m·s;  ln(PPL(Q)/PPL(base)) ± sqrt(sQ² + sB² − 2cov);  cor = cov/(sQ·sB)
 *   PPL ratio = e^d ± e^d·s_d;  PPL difference ± sqrt(uQ² + uB² − 2·PPL_Q·PPL_B·cov)
 *   RMS Δp = sqrt(mean Δp²) ± ½/RMS · s(Δp²);  same top p ± sqrt(p(1−p)/(n−1))
 *   percentile f: linear interpolation at f·(n−1) of the sorted values; median = middle (mean of two)
 * In 'llama' mode the per-token values are kept as float32 and percentiles use float32
 * arithmetic as llama.cpp does, so that the printed figures match its output.
 */
import type { KldRow } from '../kernels/kld-rows.js';

const f = Math.fround;

/** A growable array of numbers (float32 in llama mode, float64 otherwise). */
class Values {
  private data: Float32Array | Float64Array;
  length = 0;
  constructor(private readonly single: boolean) {
    this.data = single ? new Float32Array(1024) : new Float64Array(1024);
  }
  push(x: number): void {
    if (this.length === this.data.length) {
      const next = this.single ? new Float32Array(this.data.length * 2) : new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = x;
  }
  sorted(): Float32Array | Float64Array {
    return this.data.slice(0, this.length).sort();
  }
  /** The values as base64 of their little-endian bytes (checkpoints). */
  toBase64(): string {
    const v = this.data.subarray(0, this.length);
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  static fromBase64(single: boolean, b64: string): Values {
    const b = Buffer.from(b64, 'base64');
    const out = new Values(single);
    const n = b.length / (single ? 4 : 8);
    out.data = single ? new Float32Array(Math.max(1024, n)) : new Float64Array(Math.max(1024, n));
    const src = single
      ? new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length))
      : new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    out.data.set(src);
    out.length = n;
    return out;
  }
}

/** Sums of KldAccumulator that checkpoints carry (plain numbers). */
const SUM_KEYS = [
  'sumNll',
  'sumNll2',
  'sumNllBase',
  'sumNllBase2',
  'sumNllNllBase',
  'sumKld',
  'sumKld2',
  'sumPDiff',
  'sumPDiff2',
  'sumPDiff4',
  'maxPDiff',
  'nSameTop',
  'count',
  'sumJsd',
  'sumJsd2',
  'jsdCount',
  'sumTopk',
  'topkCount',
  'bytes',
] as const;

/** JSON-serialisable state of a KldAccumulator: exact doubles and the per-token values. */
export interface KldAccumulatorState {
  llama: boolean;
  sums: Record<(typeof SUM_KEYS)[number], number>;
  kld_b64: string;
  delta_p_b64: string;
}

export class KldAccumulator {
  sumNll = 0;
  sumNll2 = 0;
  sumNllBase = 0;
  sumNllBase2 = 0;
  sumNllNllBase = 0;
  sumKld = 0;
  sumKld2 = 0;
  sumPDiff = 0;
  sumPDiff2 = 0;
  sumPDiff4 = 0;
  maxPDiff = 0;
  nSameTop = 0;
  count = 0;
  sumJsd = 0;
  sumJsd2 = 0;
  jsdCount = 0;
  sumTopk = 0;
  topkCount = 0;
  /** Bytes of the scored tokens' text (bits per byte of both models). */
  bytes = 0;
  private kl: Values;
  private dp: Values;

  constructor(readonly llama: boolean) {
    this.kl = new Values(llama);
    this.dp = new Values(llama);
  }

  add(r: KldRow): void {
    // llama.cpp: nll, nll_base and p_diff are float, and so are their products (nll·nll,
    // nll·nll_base, p_diff²: float multiplications widened to double when summed). The
    // rounding shows in the ± of near-constant losses (V = 32000 random weights).
    const nll = r.nllModel;
    const nb = r.nllBase;
    const sq = this.llama ? (x: number, y: number): number => f(x * y) : (x: number, y: number): number => x * y;
    this.sumNll += nll;
    this.sumNll2 += sq(nll, nll);
    this.sumNllBase += nb;
    this.sumNllBase2 += sq(nb, nb);
    this.sumNllNllBase += sq(nll, nb);
    this.sumKld += r.kld;
    this.sumKld2 += r.kld * r.kld;
    this.count++;
    if (r.sameTop) this.nSameTop++;
    const d = r.pDiff;
    this.sumPDiff += d;
    const d2 = this.llama ? f(d * d) : d * d;
    this.sumPDiff2 += d2;
    this.sumPDiff4 += d2 * d2;
    this.maxPDiff = Math.max(this.maxPDiff, Math.abs(d));
    this.kl.push(r.kld);
    this.dp.push(d);
    if (!Number.isNaN(r.jsd)) {
      this.sumJsd += r.jsd;
      this.sumJsd2 += r.jsd * r.jsd;
      this.jsdCount++;
    }
    if (!Number.isNaN(r.topkOverlap)) {
      this.sumTopk += r.topkOverlap;
      this.topkCount++;
    }
  }

  toState(): KldAccumulatorState {
    const sums = {} as KldAccumulatorState['sums'];
    for (const k of SUM_KEYS) sums[k] = this[k];
    return { llama: this.llama, sums, kld_b64: this.kl.toBase64(), delta_p_b64: this.dp.toBase64() };
  }

  static fromState(st: KldAccumulatorState): KldAccumulator {
    const a = new KldAccumulator(st.llama);
    for (const k of SUM_KEYS) a[k] = st.sums[k];
    a.kl = Values.fromBase64(st.llama, st.kld_b64);
    a.dp = Values.fromBase64(st.llama, st.delta_p_b64);
    if (a.kl.length !== a.count || a.dp.length !== a.count)
      throw new Error(`checkpoint holds ${a.kl.length} KLD values for ${a.count} positions`);
    return a;
  }

  kldValues(): Float32Array | Float64Array {
    return this.kl.sorted();
  }

  pDiffValues(): Float32Array | Float64Array {
    return this.dp.sorted();
  }
}

export function meanAndUncertainty(sum: number, sum2: number, count: number): [number, number] {
  if (count < 1) return [0, 0];
  const m = sum / count;
  const v = sum2 / count - m * m;
  return [m, v > 0 && count > 10 ? Math.sqrt(v / (count - 1)) : 0];
}

function covariance(a: number, b: number, ab: number, count: number): number {
  if (count < 10) return 0;
  return (ab / count - (a / count) * (b / count)) / (count - 1);
}

/** llama.cpp's percentile (float32 arithmetic when `single`), on sorted values. */
export function percentile(sorted: ArrayLike<number>, fraction: number, single: boolean): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (fraction <= 0) return sorted[0]!;
  if (fraction >= 1) return sorted[n - 1]!;
  if (single) {
    let p = f(f(fraction) * f(n - 1));
    const ip = Math.floor(p);
    p = f(p - ip);
    return f(f(f(1 - p) * sorted[ip]!) + f(p * sorted[Math.min(ip + 1, n - 1)]!));
  }
  let p = fraction * (n - 1);
  const ip = Math.floor(p);
  p -= ip;
  return (1 - p) * sorted[ip]! + p * sorted[Math.min(ip + 1, n - 1)]!;
}

export function median(sorted: ArrayLike<number>, single: boolean): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n % 2 === 1) return sorted[n >> 1]!;
  const s = sorted[n / 2]! + sorted[n / 2 - 1]!;
  return single ? f(0.5 * f(s)) : 0.5 * s;
}

/** Log-spaced histogram of the positive per-token KLDs (non-positive ones in the first bin). */
function histogram(sorted: ArrayLike<number>, bins = 40): { edges_nats: number[]; counts: number[] } | undefined {
  const n = sorted.length;
  let firstPos = 0;
  while (firstPos < n && !(sorted[firstPos]! > 0)) firstPos++;
  if (firstPos >= n) return undefined;
  const lo = Math.max(sorted[firstPos]!, 1e-9);
  const hi = sorted[n - 1]!;
  if (!(hi > lo)) return undefined;
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (l0 + ((l1 - l0) * i) / bins));
  edges[0] = lo;
  edges[bins] = hi * (1 + 1e-9);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const x = sorted[i]!;
    const b = x < lo ? 0 : Math.min(bins - 1, Math.floor(((Math.log10(x) - l0) / (l1 - l0)) * bins));
    counts[b]!++;
  }
  return { edges_nats: edges, counts };
}

/** Every figure llama-perplexity --kl-divergence prints, plus JSD and top-k agreement. Units in the names. */
export interface KldSummary {
  tokens_scored: number;
  ppl_model: number;
  ppl_model_pm: number;
  ppl_base: number;
  ppl_base_pm: number;
  nats_per_token_model: number;
  nats_per_token_base: number;
  /** Correlation of the per-token ln-probabilities (llama.cpp's Cor(ln PPL(Q), ln PPL(base))), a fraction. */
  ln_ppl_correlation: number;
  ln_ppl_ratio: number;
  ln_ppl_ratio_pm: number;
  ppl_ratio: number;
  ppl_ratio_pm: number;
  ppl_diff: number;
  ppl_diff_pm: number;
  /** KL(base ‖ model), nats per token. */
  kld_mean: number;
  kld_mean_pm: number;
  kld_max: number;
  kld_p999: number;
  kld_p99: number;
  kld_p95: number;
  kld_p90: number;
  kld_median: number;
  kld_p10: number;
  kld_p05: number;
  kld_p01: number;
  kld_p001: number;
  kld_min: number;
  /** Δp = p_model(true) − p_base(true), plain fractions (× 100 for the % llama.cpp prints). */
  delta_p_mean: number;
  delta_p_mean_pm: number;
  delta_p_max: number;
  delta_p_p999: number;
  delta_p_p99: number;
  delta_p_p95: number;
  delta_p_p90: number;
  delta_p_p75: number;
  delta_p_median: number;
  delta_p_p25: number;
  delta_p_p10: number;
  delta_p_p05: number;
  delta_p_p01: number;
  delta_p_p001: number;
  delta_p_min: number;
  delta_p_rms: number;
  delta_p_rms_pm: number;
  /** Fraction of positions where both models' top token agree. */
  same_top_p: number;
  same_top_p_pm: number;
  /** Jensen–Shannon divergence, nats per token (null where the base is stored quantised). */
  jsd_mean: number | null;
  jsd_mean_pm: number | null;
  /** Mean |top-k(base) ∩ top-k(model)| / k (null where not computed). */
  topk_agreement: number | null;
  kld_histogram?: { edges_nats: number[]; counts: number[] };
}

export function summarizeKld(a: KldAccumulator, withHistogram = true): KldSummary {
  const single = a.llama;
  const n = a.count;
  const [lq, sq] = meanAndUncertainty(a.sumNll, a.sumNll2, n);
  const [lb, sb] = meanAndUncertainty(a.sumNllBase, a.sumNllBase2, n);
  const cov = covariance(a.sumNll, a.sumNllBase, a.sumNllNllBase, n);
  const pplQ = Math.exp(lq);
  const pplB = Math.exp(lb);
  const ratio = lq - lb;
  const ratioPm = Math.sqrt(sq * sq + sb * sb - 2 * cov);
  const [km, ks] = meanAndUncertainty(a.sumKld, a.sumKld2, n);
  const [dm, ds] = meanAndUncertainty(a.sumPDiff, a.sumPDiff2, n);
  const [mse, mseS] = meanAndUncertainty(a.sumPDiff2, a.sumPDiff4, n);
  const rms = Math.sqrt(mse);
  const top = n > 0 ? a.nSameTop / n : NaN;
  const kv = a.kldValues();
  const dv = a.pDiffValues();
  const pk = (x: number): number => percentile(kv, x, single);
  const pd = (x: number): number => percentile(dv, x, single);
  const [jm, js] = meanAndUncertainty(a.sumJsd, a.sumJsd2, a.jsdCount);
  const hist = withHistogram ? histogram(kv) : undefined;
  return {
    tokens_scored: n,
    ppl_model: pplQ,
    ppl_model_pm: pplQ * sq,
    ppl_base: pplB,
    ppl_base_pm: pplB * sb,
    nats_per_token_model: lq,
    nats_per_token_base: lb,
    ln_ppl_correlation: cov / (sq * sb),
    ln_ppl_ratio: ratio,
    ln_ppl_ratio_pm: ratioPm,
    ppl_ratio: Math.exp(ratio),
    ppl_ratio_pm: Math.exp(ratio) * ratioPm,
    ppl_diff: pplQ - pplB,
    ppl_diff_pm: Math.sqrt((pplQ * sq) ** 2 + (pplB * sb) ** 2 - 2 * pplQ * pplB * cov),
    kld_mean: km,
    kld_mean_pm: ks,
    kld_max: kv.length ? kv[kv.length - 1]! : NaN,
    kld_p999: pk(0.999),
    kld_p99: pk(0.99),
    kld_p95: pk(0.95),
    kld_p90: pk(0.9),
    kld_median: median(kv, single),
    kld_p10: pk(0.1),
    kld_p05: pk(0.05),
    kld_p01: pk(0.01),
    kld_p001: pk(0.001),
    kld_min: kv.length ? kv[0]! : NaN,
    delta_p_mean: dm,
    delta_p_mean_pm: ds,
    delta_p_max: dv.length ? dv[dv.length - 1]! : NaN,
    delta_p_p999: pd(0.999),
    delta_p_p99: pd(0.99),
    delta_p_p95: pd(0.95),
    delta_p_p90: pd(0.9),
    delta_p_p75: pd(0.75),
    delta_p_median: median(dv, single),
    delta_p_p25: pd(0.25),
    delta_p_p10: pd(0.1),
    delta_p_p05: pd(0.05),
    delta_p_p01: pd(0.01),
    delta_p_p001: pd(0.001),
    delta_p_min: dv.length ? dv[0]! : NaN,
    delta_p_rms: rms,
    delta_p_rms_pm: (0.5 / rms) * mseS,
    same_top_p: top,
    same_top_p_pm: Math.sqrt((top * (1 - top)) / (n - 1)),
    jsd_mean: a.jsdCount > 0 ? jm : null,
    jsd_mean_pm: a.jsdCount > 0 ? js : null,
    topk_agreement: a.topkCount > 0 ? a.sumTopk / a.topkCount : null,
    ...(hist ? { kld_histogram: hist } : {}),
  };
}
