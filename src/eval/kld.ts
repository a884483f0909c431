/**
 * KL divergence of a model Q against a reference ("base") model P over a text, with
 * llama-perplexity's chunks (src/eval/windows.ts): for every scored position of every
 * chunk, both models' full distributions are compared (kld-rows.ts) and accumulated
 * (kld-stats.ts). The base is either a live model, scored on the same chunks, or a base
 * file (kld-file.ts) written earlier by xent or llama.cpp.
 *
 * Memory: the rows are consumed in slices as the models produce them (the native GGUF
 * engine: one micro-batch of a chunk, or the chunks llama-perplexity decodes together;
 * other models: one chunk), two slices per model at a time (one being decoded while the
 * other is compared): [rows, V] float32 per slice and model, one [rows, nv] uint16 block;
 * per token, one float KLD and one Δp (for the percentiles). Flat in the context length
 * from ctx = n_batch on, and independent of the corpus length.
 */
import { XentError } from '../core/errors.js';
import { KLD_WASM_MIN_VOCAB, kldKernels } from '../kernels/kld.js';
import {
  baseRowWidth,
  type KldRow,
  kldRowExact,
  kldRowLlama,
  newKldRow,
  newTopkScratch,
  quantizeBaseRow,
  topkOverlap,
} from '../kernels/kld-rows.js';
import { type ChunkSlice, isChunkScorer } from '../models/batch.js';
import type { LanguageModel, PositionScores } from '../models/language-model.js';
import { tokenStream } from './evaluate.js';
import { checkBaseFile } from './kld-checks.js';
import { type BaseFileMeta, type BaseFileReader, BaseFileWriter, rowsPerChunk } from './kld-file.js';
import { KldAccumulator, type KldAccumulatorState, type KldSummary, summarizeKld } from './kld-stats.js';
import { type EvalWindow, planWindows } from './windows.js';

const OP = 'kld';
/** Below this vocabulary size the JSD column is on by default (it costs an exp and a log per entry). */
export const JSD_AUTO_MAX_VOCAB = 2048;

export type KldMode = 'exact' | 'llama';

export interface KldOptions {
  /** Tokens per chunk (llama.cpp -c). With a base file, must equal the file's n_ctx. */
  ctx: number;
  /** Stop after this many chunks. */
  chunks?: number;
  /** 'exact': float base, true KLD; 'llama': llama.cpp's uint16 base storage and arithmetic. */
  mode: KldMode;
  /** Compute the Jensen–Shannon divergence (needs the float base; a log per entry). Default: V < JSD_AUTO_MAX_VOCAB. */
  jsd?: boolean;
  /** k of the top-k agreement (0 = off; needs the float base). Default 10. */
  topk?: number;
  /** Read the base distribution from this file instead of a base model. */
  baseFile?: BaseFileReader;
  /** Write the base distribution (llama.cpp's format) to this file. */
  saveBase?: { path: string; meta: BaseFileMeta };
  signal?: AbortSignal;
  /** Called after every chunk. */
  onChunk?: (done: {
    chunk: number;
    chunks: number;
    tokensEvaluated: number;
    acc: KldAccumulator;
    syncBase: () => void;
  }) => void;
  /** Continue from a checkpoint (kld-checkpoint.ts): chunks already done are skipped. */
  resume?: { chunksDone: number; tokensEvaluated: number; acc: KldAccumulatorState };
  /** Leave `<save-base>.partial` in place when interrupted or failing (a checkpoint will resume it). */
  keepPartial?: boolean;
}

export interface KldEvalResult extends KldSummary {
  mode: KldMode;
  /** 'float32' (a live base) or 'uint16' (llama.cpp's storage: --compat llama or a base file). */
  base_storage: 'float32' | 'uint16';
  ctx: number;
  chunks: number;
  chunks_total: number;
  /** Tokens fed to each model. */
  tokens_evaluated: number;
  interrupted: boolean;
  topk: number;
  /** Where the per-row sums ran: 'js' (Math.exp, float64) or 'wasm' (SIMD, V ≥ 2048). */
  kld_engine: 'js' | 'wasm';
  warnings: string[];
}

/**
 * Scores `model` against the base (`base` model, or `opts.baseFile`) on `textTokens`
 * (the tokenised text without BOS). Throws XentError: too_short, incompatible,
 * numerical_error, invalid_argument, interrupted (before the first chunk).
 */
export async function evaluateKld(
  base: LanguageModel | undefined,
  model: LanguageModel,
  textTokens: Int32Array,
  opts: KldOptions,
): Promise<KldEvalResult> {
  const V = model.vocabSize;
  if (!base && !opts.baseFile)
    throw new XentError('invalid_argument', OP, 'a base model or a base file is required', { arg: '--base' });
  if (base && base.vocabSize !== V)
    throw new XentError('incompatible', OP, `vocabulary sizes differ: base ${base.vocabSize}, model ${V}`, {
      arg: '--model',
    });
  const stream = tokenStream(base ?? model, textTokens);
  const addsBos = model.addsBos && model.bosToken !== undefined;
  const plan = planWindows(OP, stream.length, opts.ctx, {
    addsBos,
    ...(opts.chunks !== undefined ? { chunks: opts.chunks } : {}),
  });
  let windows: EvalWindow[] = plan.windows;
  const warnings: string[] = [];
  if (opts.baseFile) {
    checkBaseFile(opts.baseFile, stream, opts.ctx, model);
    if (windows.length > opts.baseFile.header.nChunk) {
      warnings.push(
        `the base file holds ${opts.baseFile.header.nChunk} chunks; only those are scored (the text has ${windows.length})`,
      );
      windows = windows.slice(0, opts.baseFile.header.nChunk);
    }
  }
  const llama = opts.mode === 'llama' || opts.baseFile !== undefined;
  const floatBase = base !== undefined && !opts.baseFile;
  const jsd = (opts.jsd ?? V < JSD_AUTO_MAX_VOCAB) && floatBase;
  const k = floatBase ? (opts.topk ?? 10) : 0;
  if (!Number.isInteger(k) || k < 0 || k > V)
    throw new XentError('invalid_argument', OP, `--top-k must be an integer in [0, ${V}], got ${opts.topk}`, {
      arg: '--top-k',
      value: opts.topk,
    });
  const acc = opts.resume ? KldAccumulator.fromState(opts.resume.acc) : new KldAccumulator(llama);
  if (acc.llama !== llama)
    throw new XentError('incompatible', OP, 'the checkpoint was made in another mode (--compat / --base-file)');
  const start = opts.resume?.chunksDone ?? 0;
  if (start > windows.length)
    throw new XentError(
      'incompatible',
      OP,
      `the checkpoint has ${start} chunks done but this run plans only ${windows.length}`,
    );
  const nRows = rowsPerChunk(opts.ctx);
  const nv = baseRowWidth(V);
  let writer: BaseFileWriter | undefined;
  if (opts.saveBase) {
    if (!base)
      throw new XentError('invalid_argument', OP, '--save-base needs a base model (--base)', { arg: '--save-base' });
    writer = new BaseFileWriter(
      opts.saveBase.path,
      { nCtx: opts.ctx, vocabSize: V, nChunk: windows.length, tokens: stream.slice(0, windows.length * opts.ctx) },
      start,
    );
  }

  // Row slices of both models, chunk by chunk from `start`, aligned row for row. A GGUF
  // model hands over one micro-batch of rows at a time (ChunkScorer), others one chunk.
  const want = { full: true, rawLogits: llama };
  const zipped = zipSlices(
    chunkSlices(model, windows, stream, start, want),
    base && floatBase ? chunkSlices(base, windows, stream, start, want) : undefined,
  );
  const row: KldRow = newKldRow();
  const extra: KldRow = newKldRow();
  const scratch = newTopkScratch(Math.max(1, k));
  // SIMD sums for large V (src/kernels/kld.ts); llama mode's use float32 exps computed in float64, as expf.
  const kk = V >= KLD_WASM_MIN_VOCAB ? kldKernels() : undefined;
  const nb = new Float32Array(V);
  const nm = new Float32Array(V);
  // The uint16 base rows of the slice at hand (llama mode, base files).
  let qbuf = new Uint16Array(0);
  let qf32 = new Float32Array(0);
  const qFor = (n: number): void => {
    if (qbuf.length >= n * nv) return;
    qbuf = new Uint16Array(n * nv);
    qf32 = new Float32Array(qbuf.buffer);
  };
  let interrupted = false;
  let done = start;
  let rowsDone = 0;
  let tokensEvaluated = opts.resume?.tokensEvaluated ?? 0;
  const release = (): void => {
    if (!writer) return;
    if (opts.keepPartial) writer.suspend();
    else writer.abort();
  };
  try {
    while (done < windows.length) {
      if (rowsDone === 0 && opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      const it = await zipped.next();
      if (it.done) break;
      const s = it.value;
      const w = done;
      const win = windows[w]!;
      if (s.chunk !== w || s.row !== rowsDone)
        throw new XentError(
          'invalid_argument',
          OP,
          `chunk ${w + 1}: rows arrived out of order (${s.chunk + 1}:${s.row})`,
        );
      const n = s.n;
      // Rows: raw logits (llama mode, native engine) or log-probabilities; the llama
      // arithmetic is shift-invariant, the exact path and the JSD need log-probabilities.
      const lm = s.model.logits ?? s.model.logProbs;
      const lb = s.base?.logits ?? s.base?.logProbs;
      const rawM = s.model.logits !== undefined;
      const rawB = s.base?.logits !== undefined;
      if (!lm || (floatBase && !lb))
        throw new XentError(
          'missing_dependency',
          OP,
          `${lm ? 'the base' : 'the model'} did not return full log-probabilities (needed for KL divergence)`,
        );
      const target = (i: number): number => stream[win.start + win.from + 1 + s.row + i]!;
      const mo = s.modelRow * V;
      const bo = s.baseRow * V;
      let q: Uint16Array | undefined;
      let qf: Float32Array | undefined;
      if (opts.baseFile) {
        qFor(n);
        q = opts.baseFile.readRows(w, s.row, n, qbuf);
        qf = qf32;
      } else if (llama || writer) {
        qFor(n);
        for (let i = 0; i < n; i++) {
          if (kk) kk.quantizeBaseRow(lb!, bo + i * V, V, target(i), qbuf, qf32, i * nv);
          else quantizeBaseRow(lb!, bo + i * V, V, target(i), qbuf, qf32, i * nv);
        }
        q = qbuf;
        qf = qf32;
      }
      for (let i = 0; i < n; i++) {
        const t = target(i);
        const om = mo + i * V;
        const ob = bo + i * V;
        if (llama) {
          if (kk) kk.kldRowLlama(lm, om, V, q!, qf!, i * nv, t, row);
          else kldRowLlama(lm, om, V, q!, qf!, i * nv, t, row);
          if (jsd) {
            const pb = rawB ? normalizeRow(lb!, ob, V, nb) : lb!;
            const pm = rawM ? normalizeRow(lm, om, V, nm) : lm;
            kldRowExact(pb, rawB ? 0 : ob, pm, rawM ? 0 : om, V, t, extra, true, 0);
            row.jsd = extra.jsd;
          }
          if (k > 0) row.topkOverlap = topkOverlap(lb!, ob, lm, om, V, k, scratch);
        } else if (kk) {
          kk.kldRowExact(lb!, ob, lm, om, V, t, row);
          if (jsd) {
            kldRowExact(lb!, ob, lm, om, V, t, extra, true, 0);
            row.jsd = extra.jsd;
          }
          if (k > 0) row.topkOverlap = topkOverlap(lb!, ob, lm, om, V, k, scratch);
        } else {
          kldRowExact(lb!, ob, lm, om, V, t, row, jsd, k, scratch);
        }
        if (!Number.isFinite(row.kld)) {
          throw new XentError(
            'numerical_error',
            OP,
            `chunk ${w + 1}, position ${win.from + s.row + i}: KL divergence is ${row.kld} (the model gives probability 0 to a token the base does not)`,
            {
              row: win.start + win.from + s.row + i,
              chunk: w + 1,
              value: row.kld,
            },
          );
        }
        acc.add(row);
      }
      if (writer) writer.writeRows(q!.subarray(0, n * nv));
      rowsDone += n;
      if (rowsDone === nRows) {
        done = w + 1;
        rowsDone = 0;
        tokensEvaluated += win.length;
        opts.onChunk?.({ chunk: done, chunks: windows.length, tokensEvaluated, acc, syncBase: () => writer?.sync() });
      }
    }
  } catch (e) {
    release();
    throw e;
  } finally {
    await zipped.return(undefined);
  }
  if (acc.count === 0) {
    release();
    throw new XentError('interrupted', OP, 'interrupted before the first chunk was scored');
  }
  if (writer) {
    if (interrupted) release();
    else writer.finish(opts.saveBase!.meta);
  }
  if (acc.count < 100)
    warnings.push(
      `only ${acc.count} positions scored: llama.cpp prints no summary below 100, and the percentiles are rough`,
    );
  return {
    ...summarizeKld(acc),
    mode: opts.mode,
    base_storage: llama ? 'uint16' : 'float32',
    ctx: opts.ctx,
    chunks: done,
    chunks_total: windows.length,
    tokens_evaluated: tokensEvaluated,
    interrupted,
    topk: k,
    kld_engine: kk ? 'wasm' : 'js',
    warnings,
  };
}

/** Log-softmax of the raw-logit row x[o … o+V) into out[0 … V) (float64 sums). */
function normalizeRow(x: Float32Array, o: number, V: number, out: Float32Array): Float32Array {
  let mx = -Infinity;
  for (let v = 0; v < V; v++) if (x[o + v]! > mx) mx = x[o + v]!;
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[o + v]! - mx);
  const lse = mx + Math.log(s);
  for (let v = 0; v < V; v++) out[v] = x[o + v]! - lse;
  return out;
}

/**
 * Row slices of `model` for windows start… (chunk indices absolute): a ChunkScorer's
 * slices (groups aligned at multiples of its group size from chunk 0, as
 * llama-perplexity packs them), else one score() per chunk with the next one in flight.
 */
async function* chunkSlices(
  model: LanguageModel,
  windows: readonly EvalWindow[],
  stream: Int32Array,
  start: number,
  want: { full: boolean; rawLogits: boolean },
): AsyncGenerator<ChunkSlice> {
  if (start >= windows.length) return;
  const tokensOf = (w: EvalWindow): Int32Array => {
    const t = stream.slice(w.start, w.start + w.length);
    if (w.bosFirst) t[0] = model.bosToken!;
    return t;
  };
  const from = windows[0]!.from;
  if (isChunkScorer(model)) {
    const g = model.chunkGroupSize(windows[0]!.length);
    const a = Math.floor(start / g) * g;
    for await (const s of model.scoreChunkSlices(windows.slice(a).map(tokensOf), { from, ...want })) {
      if (a + s.chunk >= start) yield { ...s, chunk: a + s.chunk };
    }
    return;
  }
  const issue = (w: number): Promise<PositionScores> => {
    const p = model.score(tokensOf(windows[w]!), { from, ...want });
    p.catch(() => undefined); // awaited in order below
    return p;
  };
  let next: Promise<PositionScores> | undefined = issue(start);
  for (let w = start; w < windows.length; w++) {
    const cur = next!;
    next = w + 1 < windows.length ? issue(w + 1) : undefined;
    yield { chunk: w, row: 0, scores: await cur };
  }
}

interface PairedRows {
  chunk: number;
  /** First row of the run within the chunk, and the run's length. */
  row: number;
  n: number;
  model: PositionScores;
  /** Where the run starts in `model`'s rows. */
  modelRow: number;
  base?: PositionScores;
  baseRow: number;
}

/** Runs of rows both sources have, in order: the model's slices cut where the base's end, and vice versa. */
async function* zipSlices(
  a: AsyncGenerator<ChunkSlice>,
  b: AsyncGenerator<ChunkSlice> | undefined,
): AsyncGenerator<PairedRows> {
  let sa: ChunkSlice | undefined;
  let sb: ChunkSlice | undefined;
  let oa = 0;
  let ob = 0;
  try {
    for (;;) {
      if (!sa || oa === sa.scores.nats.length) {
        const r = await a.next();
        if (r.done) return;
        sa = r.value;
        oa = 0;
      }
      if (b && (!sb || ob === sb.scores.nats.length)) {
        const r = await b.next();
        if (r.done) return;
        sb = r.value;
        ob = 0;
      }
      if (sb && (sb.chunk !== sa.chunk || sb.row + ob !== sa.row + oa))
        throw new XentError(
          'invalid_argument',
          OP,
          `the models' rows do not line up (chunk ${sa.chunk + 1} row ${sa.row + oa} against chunk ${sb.chunk + 1} row ${sb.row + ob})`,
        );
      const n = Math.min(sa.scores.nats.length - oa, sb ? sb.scores.nats.length - ob : Infinity);
      yield {
        chunk: sa.chunk,
        row: sa.row + oa,
        n,
        model: sa.scores,
        modelRow: oa,
        ...(sb ? { base: sb.scores } : {}),
        baseRow: ob,
      };
      oa += n;
      ob += n;
    }
  } finally {
    await Promise.allSettled([a.return(undefined), b?.return(undefined)]);
  }
}
