/**
 * The inputs a report is built from, as TypeScript types with runtime validation.
 * These are the documented on-disk formats of `xent eval --json`, `xent eval --tokens`,
 * the training curves `xent train` saves, `xent compare --json` and `xent kld --json`;
 * `xent report` reads them back and detects which is which by content.
 *
 * Validation throws `XentError('invalid_file', 'report', …)` naming the file, the
 * line (JSONL) and the field, e.g.
 *   report: run.jsonl line 3: field "p" must be a number in [0, 1], got 1.5
 *
 * Units are in the key names: nats and bits are per token unless the key says
 * `per_byte`; probabilities are plain fractions in [0, 1]; KL divergence is in nats.
 */
import { XentError } from '../core/errors.js';

/** `xent eval --json`. Extra keys are allowed and shown in the summary table. */
export interface EvalResult {
  perplexity: number;
  /** llama.cpp's ± on the perplexity. */
  perplexity_pm?: number;
  nats_per_token: number;
  bits_per_token: number;
  bits_per_byte: number;
  tokens_scored: number;
  bytes_scored?: number;
  chunks?: number;
  /** Fraction in [0, 1] of scored positions where the model's top token was the true one. */
  top1_accuracy?: number;
  tokens_per_second?: number;
  ctx?: number;
  /** 'chunks' (llama.cpp) or 'stride' (sliding window). */
  mode?: string;
  model: string;
  data: string;
  xent_version?: string;
  [extra: string]: unknown;
}

/** One line of `xent eval --tokens out.jsonl`: one scored token. */
export interface TokenRecord {
  /** Index of the token in the tokenised text (0-based). */
  position: number;
  /** True token id. */
  token: number;
  /** True token's text (may contain U+FFFD where a token is a partial UTF-8 sequence). */
  text: string;
  /** −ln p(true token), nats. */
  nats: number;
  /** −log2 p(true token), bits. */
  bits: number;
  /** p(true token) in [0, 1]. */
  p: number;
  /** 1-based rank of the true token in the model's distribution (1 = the model's top prediction). */
  rank: number;
  /** The model's top-1 token id. */
  top1: number;
  top1_text?: string;
  /** The model's probability of its top-1 token, in [0, 1] (also accepted as `p_top1`). */
  top1_p?: number;
}

/** One point of a training curve. */
export interface CurvePoint {
  step: number;
  nats_per_token: number;
  /** Training tokens seen at this step (optional x axis). */
  tokens?: number;
  /** Validation bits per byte, when the tokenizer makes it exact. */
  bits_per_byte?: number;
}

/** The training curves `xent train` saves. */
export interface TrainCurves {
  /** Training loss (typically a running mean over the last steps), nats per token. */
  train: CurvePoint[];
  /** Validation loss at each evaluation, nats per token. */
  val: CurvePoint[];
  /** Step of the best (lowest validation loss) checkpoint; derived from `val` when absent. */
  best_step?: number;
  model?: string;
  data?: string;
  arch?: string;
  /** Hyper-parameters, shown in the summary table (e.g. { lr: 0.002, hidden: 256 }). */
  settings?: Record<string, string | number | boolean>;
  xent_version?: string;
  [extra: string]: unknown;
}

/** One model in `xent compare --json`. */
export interface CompareModel {
  model: string;
  bits_per_byte: number;
  /** 95% confidence interval of bits per byte (bootstrap), when computed. */
  bits_per_byte_ci95_lo?: number;
  bits_per_byte_ci95_hi?: number;
  nats_per_token?: number;
  tokens_scored?: number;
}

/** A paired difference `a − b` in bits per byte with its 95% confidence interval. */
export interface ComparePair {
  a: string;
  b: string;
  diff_bits_per_byte: number;
  diff_ci95_lo: number;
  diff_ci95_hi: number;
}

/** `xent compare --json`. */
export interface CompareResult {
  models: CompareModel[];
  pairs?: ComparePair[];
  data?: string;
  bytes_scored?: number;
  xent_version?: string;
  [extra: string]: unknown;
}

/** `xent kld --json`: llama.cpp's --kl-divergence statistics; KLD in nats. */
export interface KldResult {
  kld_mean: number;
  kld_mean_pm?: number;
  kld_max?: number;
  kld_p999?: number;
  kld_p99?: number;
  kld_p95?: number;
  kld_p90?: number;
  kld_median?: number;
  kld_p10?: number;
  kld_p05?: number;
  kld_p01?: number;
  kld_min?: number;
  same_top_p?: number;
  same_top_p_pm?: number;
  delta_p_rms?: number;
  ppl_model?: number;
  ppl_base?: number;
  ln_ppl_ratio?: number;
  ln_ppl_ratio_pm?: number;
  tokens_scored?: number;
  /** Histogram of per-token KLD: counts[i] tokens in [edges_nats[i], edges_nats[i+1]). */
  kld_histogram?: { edges_nats: number[]; counts: number[] };
  base?: string;
  model?: string;
  data?: string;
  xent_version?: string;
  [extra: string]: unknown;
}

export type InputKind = 'eval' | 'tokens' | 'train' | 'compare' | 'kld';

/** Where a value came from, for error messages: a file name and, for JSONL, a 1-based line. */
export interface Origin {
  file: string;
  line?: number;
}

function where(o: Origin): string {
  return o.line === undefined ? o.file : `${o.file} line ${o.line}`;
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function bad(o: Origin, field: string, want: string, got: unknown): XentError {
  return new XentError('invalid_file', 'report', `${where(o)}: field "${field}" must be ${want}, got ${show(got)}`, {
    file: o.file,
    line: o.line,
    arg: field,
    value: got,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field readers: `req*` throw when absent, `opt*` return undefined when absent; both throw on a wrong type. */
function num(
  o: Origin,
  obj: Record<string, unknown>,
  key: string,
  required: boolean,
  min = -Infinity,
  max = Infinity,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw bad(o, key, 'a number', v);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    const range =
      min === -Infinity && max === Infinity
        ? 'a finite number'
        : `a number in [${min}, ${max === Infinity ? '∞' : max}]`;
    throw bad(o, key, range, v);
  }
  return v;
}

function int(o: Origin, obj: Record<string, unknown>, key: string, required: boolean, min = 0): number | undefined {
  const v = num(o, obj, key, required);
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw bad(o, key, `an integer ≥ ${min}`, v);
  return v;
}

function str(o: Origin, obj: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw bad(o, key, 'a string', v);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(o, key, 'a string', v);
  return v;
}

/** Two figures that must agree (e.g. bits = nats / ln 2) within a relative tolerance. */
function agree(o: Origin, key: string, value: number, expected: number, what: string, rel = 1e-6, abs = 1e-9): void {
  if (Math.abs(value - expected) > abs + rel * Math.abs(expected)) {
    throw new XentError(
      'invalid_file',
      'report',
      `${where(o)}: field "${key}" = ${value} disagrees with ${what} = ${expected}`,
      {
        file: o.file,
        line: o.line,
        arg: key,
        value,
        expected,
      },
    );
  }
}

function object(o: Origin, v: unknown, what: string): Record<string, unknown> {
  if (!isObject(v))
    throw new XentError('invalid_file', 'report', `${where(o)}: expected ${what} (a JSON object), got ${show(v)}`, {
      file: o.file,
      line: o.line,
    });
  return v;
}

export function validateEvalResult(v: unknown, o: Origin): EvalResult {
  const obj = object(o, v, 'an eval result');
  const nats = num(o, obj, 'nats_per_token', true, 0)!;
  const bits = num(o, obj, 'bits_per_token', true, 0)!;
  agree(o, 'bits_per_token', bits, nats / Math.LN2, 'nats_per_token / ln 2');
  const ppl = num(o, obj, 'perplexity', true, 1)!;
  agree(o, 'perplexity', ppl, Math.exp(nats), 'exp(nats_per_token)');
  num(o, obj, 'perplexity_pm', false, 0);
  num(o, obj, 'bits_per_byte', true, 0);
  int(o, obj, 'tokens_scored', true, 1);
  int(o, obj, 'bytes_scored', false);
  int(o, obj, 'chunks', false);
  num(o, obj, 'top1_accuracy', false, 0, 1);
  num(o, obj, 'tokens_per_second', false, 0);
  int(o, obj, 'ctx', false, 1);
  str(o, obj, 'mode', false);
  str(o, obj, 'model', true);
  str(o, obj, 'data', true);
  str(o, obj, 'xent_version', false);
  return obj as EvalResult;
}

export function validateTokenRecord(v: unknown, o: Origin): TokenRecord {
  const obj = object(o, v, 'a token record');
  const position = int(o, obj, 'position', true)!;
  const token = int(o, obj, 'token', true)!;
  const text = str(o, obj, 'text', true)!;
  // −ln p ≥ 0; allow float rounding just below zero when p rounds to 1.
  const nats = num(o, obj, 'nats', true, -1e-6)!;
  const bits = num(o, obj, 'bits', true, -1e-6)!;
  agree(o, 'bits', bits, nats / Math.LN2, 'nats / ln 2');
  const p = num(o, obj, 'p', true, 0, 1)!;
  // p may be printed with fewer digits than nats: a looser tolerance.
  agree(o, 'p', p, Math.exp(-nats), 'exp(-nats)', 1e-4, 1e-12);
  // Ranks are 1-based everywhere in xent's files (1 = the model's top choice).
  if (obj.rank === 0) throw bad(o, 'rank', "a 1-based rank ≥ 1 (1 = the model's top choice)", 0);
  const rank = int(o, obj, 'rank', true, 1)!;
  const top1 = int(o, obj, 'top1', true)!;
  const rec: TokenRecord = { position, token, text, nats, bits, p, rank, top1 };
  const top1Text = str(o, obj, 'top1_text', false);
  if (top1Text !== undefined) rec.top1_text = top1Text;
  const top1P = obj.top1_p !== undefined ? num(o, obj, 'top1_p', false, 0, 1) : num(o, obj, 'p_top1', false, 0, 1);
  if (top1P !== undefined) {
    // The top token is at least as likely as the true one (rounding aside).
    if (top1P < p * (1 - 1e-4) - 1e-12)
      throw bad(o, obj.top1_p !== undefined ? 'top1_p' : 'p_top1', `≥ p (${p}), the top token's probability`, top1P);
    rec.top1_p = top1P;
  }
  return rec;
}

function curve(o: Origin, v: unknown, key: string): CurvePoint[] {
  if (!Array.isArray(v)) throw bad(o, key, 'an array of { step, nats_per_token }', v);
  let last = -Infinity;
  return v.map((p, i) => {
    const name = `${key}[${i}]`;
    const obj = object(o, p, `${name} ({ step, nats_per_token })`);
    const sub: Origin = o;
    const step = int(sub, obj, 'step', true);
    if (step === undefined || step <= last)
      throw bad(o, `${name}.step`, `an integer greater than the previous step (${last})`, obj.step);
    last = step;
    const nats = num(sub, obj, 'nats_per_token', true, 0);
    const pt: CurvePoint = { step, nats_per_token: nats! };
    const tokens = int(sub, obj, 'tokens', false);
    if (tokens !== undefined) pt.tokens = tokens;
    const bpb = num(sub, obj, 'bits_per_byte', false, 0);
    if (bpb !== undefined) pt.bits_per_byte = bpb;
    return pt;
  });
}

export function validateTrainCurves(v: unknown, o: Origin): TrainCurves {
  const obj = object(o, v, 'training curves');
  const train = curve(o, obj.train, 'train');
  const val = curve(o, obj.val, 'val');
  if (train.length === 0 && val.length === 0)
    throw bad(o, 'train', 'a non-empty array (both train and val are empty)', obj.train);
  const best = int(o, obj, 'best_step', false);
  if (best !== undefined && !val.some((p) => p.step === best))
    throw bad(o, 'best_step', 'the step of one of the val points', best);
  for (const k of ['model', 'data', 'arch', 'xent_version']) str(o, obj, k, false);
  if (obj.settings !== undefined) {
    const s = object(o, obj.settings, 'settings');
    for (const [k, x] of Object.entries(s)) {
      if (!['string', 'number', 'boolean'].includes(typeof x))
        throw bad(o, `settings.${k}`, 'a string, number or boolean', x);
    }
  }
  return { ...obj, train, val } as TrainCurves;
}

export function validateCompareResult(v: unknown, o: Origin): CompareResult {
  const obj = object(o, v, 'a compare result');
  if (!Array.isArray(obj.models) || obj.models.length === 0) throw bad(o, 'models', 'a non-empty array', obj.models);
  obj.models.forEach((m, i) => {
    const mo = object(o, m, `models[${i}]`);
    const k = (f: string): string => `models[${i}].${f}`;
    if (typeof mo.model !== 'string') throw bad(o, k('model'), 'a string', mo.model);
    const bpb = mo.bits_per_byte;
    if (typeof bpb !== 'number' || !Number.isFinite(bpb) || bpb < 0)
      throw bad(o, k('bits_per_byte'), 'a number ≥ 0', bpb);
    const lo = mo.bits_per_byte_ci95_lo;
    const hi = mo.bits_per_byte_ci95_hi;
    if ((lo === undefined) !== (hi === undefined))
      throw bad(
        o,
        k(lo === undefined ? 'bits_per_byte_ci95_lo' : 'bits_per_byte_ci95_hi'),
        'given with its partner bound',
        lo ?? hi,
      );
    if (lo !== undefined && (typeof lo !== 'number' || typeof hi !== 'number' || !(lo <= bpb && bpb <= hi))) {
      throw bad(o, k('bits_per_byte_ci95_lo'), `numbers with lo ≤ bits_per_byte (${bpb}) ≤ hi`, [lo, hi]);
    }
  });
  if (obj.pairs !== undefined) {
    if (!Array.isArray(obj.pairs)) throw bad(o, 'pairs', 'an array', obj.pairs);
    const names = new Set((obj.models as CompareModel[]).map((m) => m.model));
    obj.pairs.forEach((p, i) => {
      const po = object(o, p, `pairs[${i}]`);
      for (const f of ['a', 'b']) {
        if (typeof po[f] !== 'string' || !names.has(po[f] as string))
          throw bad(o, `pairs[${i}].${f}`, 'the name of one of the models', po[f]);
      }
      for (const f of ['diff_bits_per_byte', 'diff_ci95_lo', 'diff_ci95_hi']) {
        if (typeof po[f] !== 'number' || !Number.isFinite(po[f]))
          throw bad(o, `pairs[${i}].${f}`, 'a finite number', po[f]);
      }
      const d = po.diff_bits_per_byte as number;
      if (!((po.diff_ci95_lo as number) <= d && d <= (po.diff_ci95_hi as number))) {
        throw bad(o, `pairs[${i}].diff_ci95_lo`, `≤ diff_bits_per_byte (${d}) ≤ diff_ci95_hi`, [
          po.diff_ci95_lo,
          po.diff_ci95_hi,
        ]);
      }
    });
  }
  str(o, obj, 'data', false);
  int(o, obj, 'bytes_scored', false);
  return obj as CompareResult;
}

const KLD_NUMBERS = [
  'kld_mean_pm',
  'kld_max',
  'kld_p999',
  'kld_p99',
  'kld_p95',
  'kld_p90',
  'kld_median',
  'kld_p10',
  'kld_p05',
  'kld_p01',
  'kld_min',
] as const;

export function validateKldResult(v: unknown, o: Origin): KldResult {
  const obj = object(o, v, 'a kld result');
  // KL divergence is ≥ 0; llama.cpp's uint16 base storage can give tiny negatives per token.
  num(o, obj, 'kld_mean', true, -1e-3);
  for (const k of KLD_NUMBERS) num(o, obj, k, false);
  for (const k of ['same_top_p', 'same_top_p_pm']) num(o, obj, k, false, 0, 1);
  for (const k of ['delta_p_rms', 'ppl_model', 'ppl_base', 'ln_ppl_ratio', 'ln_ppl_ratio_pm']) num(o, obj, k, false);
  int(o, obj, 'tokens_scored', false);
  if (obj.kld_histogram !== undefined) {
    const h = object(o, obj.kld_histogram, 'kld_histogram');
    const e = h.edges_nats;
    const c = h.counts;
    if (
      !Array.isArray(e) ||
      e.length < 2 ||
      !e.every((x, i) => typeof x === 'number' && Number.isFinite(x) && (i === 0 || x > (e[i - 1] as number)))
    ) {
      throw bad(o, 'kld_histogram.edges_nats', 'at least two increasing finite numbers', e);
    }
    if (!Array.isArray(c) || c.length !== e.length - 1 || !c.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
      throw bad(o, 'kld_histogram.counts', `${e.length - 1} non-negative integers (one per bin)`, c);
    }
  }
  for (const k of ['base', 'model', 'data', 'xent_version']) str(o, obj, k, false);
  return obj as KldResult;
}

/**
 * Which kind of input a parsed JSON object is, by its keys:
 * `position` + `nats` → a token record, `kld_mean` → kld, `models` → compare,
 * `train`/`val` arrays → training curves, `nats_per_token` + `perplexity` → eval.
 */
export function detectKind(v: unknown): InputKind | undefined {
  if (!isObject(v)) return undefined;
  if ('position' in v && 'nats' in v) return 'tokens';
  if ('kld_mean' in v) return 'kld';
  if (Array.isArray(v.models)) return 'compare';
  if (Array.isArray(v.train) || Array.isArray(v.val)) return 'train';
  if ('nats_per_token' in v && 'perplexity' in v) return 'eval';
  return undefined;
}
