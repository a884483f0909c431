/**
 * GGUF language models (llama.cpp's format) behind the LanguageModel interface.
 *
 * Two engines, the same figures:
 *  - 'native' (gguf-native-model.ts): build/native/xent-llama.node decodes llama_batch
 *    layouts planned in gguf-batches.ts: llama-perplexity's own (chunks side by side when
 *    ctx < n_batch, micro-batch pieces otherwise), so the logits are llama-perplexity's
 *    bit for bit; the row statistics are computed natively with its arithmetic. As fast
 *    as llama-perplexity at any vocabulary size, and with memory flat in the context length.
 *  - 'map' (gguf-map-model.ts): node-llama-cpp's public API (controlledEvaluate with
 *    probabilities), which returns a sorted Map<token, probability> per position: ~17 ms
 *    per position at V = 32000. Used when the binding was not built.
 * Both take llama-perplexity's defaults: -b 2048, -ub 512, flash attention 'auto' (which
 * llama.cpp turns on for the CPU). The reference figures of older releases were made
 * with flash attention off and -b = -c: `flashAttention: 'off'` (and `batch: ctx`)
 * reproduces them.
 *
 * The file's header and tensor table are validated in TypeScript first
 * (gguf-header.ts), so a truncated or foreign file never reaches native code.
 */
import { cpus } from 'node:os';
import { XentError } from '../../core/errors.js';
import type { LanguageModel } from '../language-model.js';
import { type GgufHeader, readGgufHeader } from './gguf-header.js';
import { autoContexts, MAX_CONTEXTS } from './gguf-lane.js';
import { GGUF_INSTALL_HINT, MapGgufLanguageModel } from './gguf-map-model.js';
import {
  loadNativeBinding,
  nativeUnavailableFix,
  nativeUnavailableReason,
  refuseMapFallbackIfRequired,
  warnMapFallback,
} from './gguf-native.js';
import { NativeGgufLanguageModel } from './gguf-native-model.js';

export { GGUF_INSTALL_HINT };

export type GgufEngine = 'auto' | 'native' | 'map';

/** llama.cpp's flash attention: 'auto' (llama-perplexity's default: on for the CPU), 'on' or 'off'. */
export type FlashAttention = 'auto' | 'on' | 'off';

export interface GgufLoadOptions {
  /** Context size to prepare for (tokens per evaluated sequence); grown on demand. Default 512. */
  ctx?: number;
  /** CPU threads for llama.cpp. Default: min(4, cores). */
  threads?: number;
  /** 'auto' (default): native when built, else map. */
  engine?: GgufEngine;
  /** llama.cpp flash attention (default 'auto', as llama-perplexity; true/false mean 'on'/'off'). */
  flashAttention?: FlashAttention | boolean;
  /** Logical batch, llama-perplexity's -b (default 2048): chunks shorter than it are decoded several at a time. */
  batch?: number;
  /** Physical batch, llama-perplexity's -ub (default 512). */
  ubatch?: number;
  /** Sequences per decode of scoreBatch (llama-perplexity's multiple-choice n_parallel, default 4). */
  sequences?: number;
  /**
   * KV cells of the packed-requests context (default sequences × ctx, llama-perplexity's
   * n_parallel × ctx): fewer lets more sequences share the memory of fewer.
   */
  kvCells?: number;
  /**
   * What the context made at load is laid out for: llama-perplexity's chunks ('chunks', the
   * default: eval, kld) or packed requests ('requests': scoreBatch, as xent tasks and xent serve
   * call it). Either works for every call; a call the context does not serve replaces it.
   */
  layout?: 'chunks' | 'requests';
  /**
   * With layout 'requests', native engine: llama.cpp contexts over the same weights that
   * decode scoreBatch calls side by side, the threads shared among them (at most one
   * context per thread). Each holds its own KV cache of kvCells and compute buffer. 1 to 4
   * (each decode runs on one of libuv's 4 pool threads), or 'auto': two for a small model
   * (`autoContexts`, gguf-lane.ts). Default 1. Every other call (score, chunks) runs on the
   * first context, with its share of the threads.
   */
  contexts?: number | 'auto';
}

const OP = 'loadGgufModel';

/** A loaded GGUF model: a LanguageModel with its file's header and llama.cpp's settings. */
export interface GgufLanguageModel extends LanguageModel {
  readonly kind: 'gguf';
  readonly engine: 'native' | 'map';
  readonly header: GgufHeader;
  readonly threads: number;
  /** As asked for; llama.cpp resolves 'auto' (the native engine's contextInfo() says how). */
  readonly flashAttention: FlashAttention;
  readonly batch: number;
  readonly ubatch: number;
}

/** An integer option ≥ min (dflt when absent), and at most `max.value` where there is a limit, with why. */
function positiveInt(name: string, v: unknown, dflt: number, min = 1, max?: { value: number; why: string }): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < min)
    throw new XentError('invalid_argument', OP, `${name} must be an integer ≥ ${min}, got ${v}`, {
      arg: name,
      value: v,
    });
  if (max && (v as number) > max.value)
    throw new XentError('invalid_argument', OP, `${name} must be at most ${max.value} (${max.why}), got ${v}`, {
      arg: name,
      value: v,
    });
  return v as number;
}

/** 'auto' | 'on' | 'off' from the option (booleans as on/off); anything else is refused. */
export function flashAttentionMode(v: unknown): FlashAttention {
  if (v === undefined) return 'auto';
  if (v === true) return 'on';
  if (v === false) return 'off';
  if (v === 'auto' || v === 'on' || v === 'off') return v;
  throw new XentError(
    'invalid_argument',
    OP,
    `flashAttention must be 'auto', 'on' or 'off', got ${JSON.stringify(v)}`,
    {
      arg: 'flashAttention',
      value: v,
    },
  );
}

/** Loads a .gguf file. Throws XentError for a missing/corrupt file or missing engine. */
export async function loadGgufModel(path: string, opts: GgufLoadOptions = {}): Promise<GgufLanguageModel> {
  const header = readGgufHeader(path);
  const threads = positiveInt('threads', opts.threads, Math.max(1, Math.min(4, cpus().length)));
  const ctx = positiveInt('ctx', opts.ctx, 512, 2);
  const batch = positiveInt('batch', opts.batch, 2048);
  const ubatch = positiveInt('ubatch', opts.ubatch, 512);
  const sequences = positiveInt('sequences', opts.sequences, 4, 1, { value: 256, why: "llama.cpp's limit" });
  const kvCells = opts.kvCells === undefined ? undefined : positiveInt('kvCells', opts.kvCells, 0, 2);
  const contexts =
    opts.contexts === 'auto'
      ? autoContexts(header)
      : positiveInt('contexts', opts.contexts, 1, 1, {
          value: MAX_CONTEXTS,
          why: "libuv's pool threads, on which the decodes run",
        });
  const flashAttention = flashAttentionMode(opts.flashAttention);
  const engine = opts.engine ?? 'auto';
  if (engine !== 'map') {
    const binding = loadNativeBinding();
    if (binding)
      return NativeGgufLanguageModel.open(binding, header, {
        ctx,
        threads,
        flashAttention,
        batch,
        ubatch,
        sequences,
        ...(kvCells !== undefined ? { kvCells } : {}),
        ...(opts.layout ? { layout: opts.layout } : {}),
        contexts,
      });
    if (engine === 'native') {
      throw new XentError(
        'missing_dependency',
        OP,
        `the native engine is unavailable: ${nativeUnavailableReason()}. Fix: ${nativeUnavailableFix()}`,
      );
    }
    refuseMapFallbackIfRequired(OP);
  }
  const model = await MapGgufLanguageModel.open(header, { ctx, threads, flashAttention, batch, ubatch });
  if (engine === 'auto') warnMapFallback(model.vocabSize);
  return model;
}
