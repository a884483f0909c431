/**
 * Ranking models over the same bytes: every model's bits per byte of one text
 * (tokenizer-independent, so GGUF models, LSTMs and n-grams with different vocabularies
 * compare directly), paired differences with 95% bootstrap intervals, and per-token
 * paired differences where two models tokenise the text identically.
 *
 * Scoring: the sliding window (src/eval/windows.ts, 'stride'), so every token of the
 * stream after the first is scored once; with BOS that is every token of the text.
 * bits per byte = Σ bits of the scored tokens / UTF-8 bytes of the whole text (the same
 * denominator for every model).
 * Units of the bootstrap: documents (the text split at blank lines) when there are at least
 * `minUnits` of them, else equal byte blocks. Token i belongs to the unit holding its last
 * byte (the cumulative byte length of the tokens up to it, clamped to the text).
 * A replicate resamples units with replacement, jointly for all models (paired).
 *
 * Memory: per model, one float64 per token (the per-token losses) and one per unit.
 */

import { bootstrapPairedDiff, bootstrapRatio } from '../core/bootstrap.js';
import { XentError } from '../core/errors.js';
import { LN2 } from '../core/tensor.js';
import type { LanguageModel } from '../models/language-model.js';
import { evaluatePerplexity, tokenStream } from './evaluate.js';

const OP = 'compare';

export interface CompareOptions {
  ctx: number;
  /** Sliding-window stride (default ctx/2). */
  stride?: number;
  /** Bootstrap seed and replicates. */
  seed?: number;
  replicates?: number;
  /** Fewer documents than this → byte blocks (default 20). */
  minUnits?: number;
  /** Byte blocks when the documents are too few (default 50). */
  blocks?: number;
  /** Tokens listed per same-tokenizer pair (default 10). */
  top?: number;
  onModel?: (name: string, index: number, total: number) => void;
}

export interface CompareModelScore {
  model: string;
  kind: string;
  vocab_size: number;
  bits_per_byte: number;
  bits_per_byte_ci95_lo: number;
  bits_per_byte_ci95_hi: number;
  nats_per_token: number;
  bits_total: number;
  tokens_scored: number;
  tokens_in_text: number;
}

export interface ComparePairScore {
  a: string;
  b: string;
  /** bits per byte of a − b. */
  diff_bits_per_byte: number;
  diff_ci95_lo: number;
  diff_ci95_hi: number;
}

export interface TokenDisagreement {
  position: number;
  token: number;
  text: string;
  /** A few tokens of text before it. */
  context: string;
  nats_a: number;
  nats_b: number;
  diff_nats: number;
}

/** Per-token paired difference of two models that tokenise the text identically. */
export interface TokenPairScore {
  a: string;
  b: string;
  tokens: number;
  /** Mean of nats_a − nats_b per token, with its standard error. */
  diff_nats_per_token: number;
  diff_nats_per_token_se: number;
  diff_nats_per_token_ci95_lo: number;
  diff_nats_per_token_ci95_hi: number;
  /** Share of tokens where a is better (lower loss). */
  a_better_fraction: number;
  most_different: TokenDisagreement[];
}

export interface CompareOutput {
  models: CompareModelScore[];
  pairs: ComparePairScore[];
  token_pairs: TokenPairScore[];
  bytes_scored: number;
  units: { kind: 'documents' | 'blocks'; count: number };
  bootstrap: { replicates: number; seed: number; level: number };
  ctx: number;
  stride: number;
}

/** Unit boundaries: start offsets of documents (split at blank lines) or of byte blocks. */
export function unitStarts(
  bytes: Uint8Array,
  minUnits = 20,
  blocks = 50,
): { kind: 'documents' | 'blocks'; starts: number[] } {
  const starts = [0];
  for (let i = 1; i + 1 < bytes.length; i++) {
    // A document starts after "\n\n" (any further newlines belong to the gap).
    if (bytes[i - 1] === 10 && bytes[i] === 10 && bytes[i + 1] !== 10) starts.push(i + 1);
  }
  if (starts.length >= minUnits) return { kind: 'documents', starts };
  const n = Math.max(1, Math.min(blocks, bytes.length));
  return { kind: 'blocks', starts: Array.from({ length: n }, (_, k) => Math.floor((k * bytes.length) / n)) };
}

interface Scored {
  name: string;
  model: LanguageModel;
  stream: Int32Array;
  /** nats per stream position (NaN where not scored). */
  nats: Float64Array;
  bitsPerUnit: Float64Array;
  score: CompareModelScore;
}

export async function compareModels(
  models: ReadonlyArray<{ name: string; model: LanguageModel }>,
  bytes: Buffer,
  opts: CompareOptions,
): Promise<CompareOutput> {
  if (models.length < 2)
    throw new XentError('invalid_argument', OP, `compare needs at least two models, got ${models.length}`, {
      arg: '--model',
    });
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name))
      throw new XentError('invalid_argument', OP, `model ${m.name} is given twice`, { arg: '--model', value: m.name });
    names.add(m.name);
  }
  if (bytes.length === 0) throw new XentError('too_short', OP, 'the text is empty', { arg: '--data' });
  const ctx = opts.ctx;
  const stride = opts.stride ?? Math.max(1, Math.floor(ctx / 2));
  const boot = { replicates: opts.replicates ?? 2000, seed: opts.seed ?? 0, level: 0.95 };
  const units = unitStarts(bytes, opts.minUnits ?? 20, opts.blocks ?? 50);
  const U = units.starts.length;
  const unitBytes = new Float64Array(U);
  for (let u = 0; u < U; u++) unitBytes[u] = (units.starts[u + 1] ?? bytes.length) - units.starts[u]!;
  const scored: Scored[] = [];
  for (let k = 0; k < models.length; k++) {
    const { name, model } = models[k]!;
    opts.onModel?.(name, k, models.length);
    const textTokens = await model.tokenizeBytes(bytes);
    const stream = tokenStream(model, textTokens);
    const nats = new Float64Array(stream.length).fill(NaN);
    let r: Awaited<ReturnType<typeof evaluatePerplexity>>;
    try {
      r = await evaluatePerplexity(model, textTokens, {
        ctx,
        stride,
        onTokens: (recs) => {
          for (const t of recs) nats[t.position] = t.nats;
        },
      });
    } catch (e) {
      if (e instanceof XentError && e.code === 'too_short')
        throw new XentError('too_short', OP, `${name}: ${e.message}`, e.fields, { cause: e });
      throw e;
    }
    // Byte offsets: BOS (when present) covers no text; each text token ends at the running byte count.
    const lens = model.tokenBytes();
    const hasBos = stream.length === textTokens.length + 1;
    const bitsPerUnit = new Float64Array(U);
    let end = 0;
    let u = 0;
    let bits = 0;
    for (let p = hasBos ? 1 : 0; p < stream.length; p++) {
      end += lens[stream[p]!] ?? 0;
      const last = Math.min(bytes.length - 1, Math.max(0, end - 1));
      while (u + 1 < U && units.starts[u + 1]! <= last) u++;
      const x = nats[p]!;
      if (!Number.isNaN(x)) {
        bitsPerUnit[u] = bitsPerUnit[u]! + x / LN2;
        bits += x / LN2;
      }
    }
    const ci = bootstrapRatio(bitsPerUnit, unitBytes, boot);
    const bpb = bits / bytes.length;
    scored.push({
      name,
      model,
      stream,
      nats,
      bitsPerUnit,
      score: {
        model: name,
        kind: model.kind,
        vocab_size: model.vocabSize,
        bits_per_byte: bpb,
        bits_per_byte_ci95_lo: Math.min(ci.lo, bpb),
        bits_per_byte_ci95_hi: Math.max(ci.hi, bpb),
        nats_per_token: r.nats_per_token,
        bits_total: bits,
        tokens_scored: r.tokens_scored,
        tokens_in_text: textTokens.length,
      },
    });
  }
  const pairs: ComparePairScore[] = [];
  const tokenPairs: TokenPairScore[] = [];
  for (let i = 0; i < scored.length; i++) {
    for (let j = i + 1; j < scored.length; j++) {
      const a = scored[i]!;
      const b = scored[j]!;
      const d = a.score.bits_per_byte - b.score.bits_per_byte;
      const ci = bootstrapPairedDiff(a.bitsPerUnit, unitBytes, b.bitsPerUnit, unitBytes, boot);
      pairs.push({
        a: a.name,
        b: b.name,
        diff_bits_per_byte: d,
        diff_ci95_lo: Math.min(ci.lo, d),
        diff_ci95_hi: Math.max(ci.hi, d),
      });
      if (sameTokens(a, b)) tokenPairs.push(tokenPair(a, b, opts.top ?? 10, boot));
    }
  }
  return {
    models: scored.map((s) => s.score),
    pairs,
    token_pairs: tokenPairs,
    bytes_scored: bytes.length,
    units: { kind: units.kind, count: U },
    bootstrap: boot,
    ctx,
    stride,
  };
}

function sameTokens(a: Scored, b: Scored): boolean {
  if (a.model.vocabSize !== b.model.vocabSize || a.stream.length !== b.stream.length) return false;
  for (let i = 0; i < a.stream.length; i++) if (a.stream[i] !== b.stream[i]) return false;
  return true;
}

function tokenPair(
  a: Scored,
  b: Scored,
  top: number,
  boot: { replicates: number; seed: number; level: number },
): TokenPairScore {
  const diffs: number[] = [];
  const pos: number[] = [];
  let better = 0;
  for (let p = 0; p < a.stream.length; p++) {
    const x = a.nats[p]!;
    const y = b.nats[p]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    diffs.push(x - y);
    pos.push(p);
    if (x < y) better++;
  }
  const n = diffs.length;
  let s = 0;
  for (const d of diffs) s += d;
  const m = s / n;
  let v = 0;
  for (const d of diffs) v += (d - m) * (d - m);
  const se = n > 1 ? Math.sqrt(v / (n - 1) / n) : NaN;
  // Token-level bootstrap of the mean difference (tokens as units; the chunk-level interval is in `pairs`).
  const ones = new Float64Array(n).fill(1);
  const ci = bootstrapRatio(Float64Array.from(diffs), ones, { ...boot, replicates: Math.min(boot.replicates, 1000) });
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => Math.abs(diffs[j]!) - Math.abs(diffs[i]!));
  const most = order.slice(0, top).map((i) => {
    const p = pos[i]!;
    const t = a.stream[p]!;
    let context = '';
    for (let q = Math.max(0, p - 8); q < p; q++) context += a.model.tokenText(a.stream[q]!);
    return {
      position: p,
      token: t,
      text: a.model.tokenText(t),
      context,
      nats_a: a.nats[p]!,
      nats_b: b.nats[p]!,
      diff_nats: diffs[i]!,
    };
  });
  return {
    a: a.name,
    b: b.name,
    tokens: n,
    diff_nats_per_token: m,
    diff_nats_per_token_se: se,
    diff_nats_per_token_ci95_lo: ci.lo,
    diff_nats_per_token_ci95_hi: ci.hi,
    a_better_fraction: better / n,
    most_different: most,
  };
}
