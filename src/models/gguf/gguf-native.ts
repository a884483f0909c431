/**
 * Loads the optional native binding build/native/xent-llama.node (native/xent-llama.c,
 * built by scripts/build-native.mjs against node-llama-cpp's own libllama). It decodes
 * llama_batch layouts and returns each scored row's statistics (and raw float32 logits
 * where asked), which is what makes `xent eval` as fast as llama-perplexity at real
 * vocabulary sizes. Absent binding →
 * undefined, and the GGUF adapter falls back to node-llama-cpp's probability Map.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How to get GGUF support when node-llama-cpp is missing. */
export const GGUF_INSTALL_HINT =
  'GGUF support needs the optional dependency node-llama-cpp: install it with `npm install -E node-llama-cpp@3.21.1` ' +
  '(or reinstall xent without --omit=optional)';

/** Opaque handles owned by the binding. */
export type NativeModelHandle = { readonly __brand: 'xent-llama-model' };
export type NativeContextHandle = { readonly __brand: 'xent-llama-context' };

export interface NativeModelInfo {
  vocabSize: number;
  nCtxTrain: number;
  addBos: boolean;
  addEos: boolean;
  bos: number;
  description: string;
}

export interface XentLlamaBinding {
  init(libDir: string, log: boolean): number;
  loadModel(path: string): NativeModelHandle;
  freeModel(m: NativeModelHandle): void;
  modelInfo(m: NativeModelHandle): NativeModelInfo;
  tokenize(m: NativeModelHandle, bytes: Uint8Array, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  tokenPieces(m: NativeModelHandle): Uint8Array[];
  /**
   * llama_context_params as llama-perplexity sets them (native/xent-llama.c): nCtx KV cells
   * (llama.cpp pads to 256 per stream), nBatch / nUbatch (-b / -ub), nSeqMax sequences,
   * flashAttn −1 auto, 0 off, 1 on; kvUnified: one KV stream shared by the sequences.
   */
  createContext(
    m: NativeModelHandle,
    nCtx: number,
    nBatch: number,
    nUbatch: number,
    nSeqMax: number,
    nThreads: number,
    flashAttn: -1 | 0 | 1,
    kvUnified: boolean,
  ): NativeContextHandle;
  /** The context's sizes after llama.cpp's adjustments, and flash attention as resolved (1 on, 0 off, −1 unknown). */
  contextInfo(c: NativeContextHandle): {
    nCtx: number;
    nCtxSeq: number;
    nBatch: number;
    nUbatch: number;
    nSeqMax: number;
    flashAttn: number;
  };
  freeContext(c: NativeContextHandle): void;
  /**
   * One llama_decode of N ≤ nBatch tokens (empty KV cache first when `clear`): token k at
   * position pos[k] in sequences seqIds[seqStart[k] … seqStart[k+1]) (null: sequence 0),
   * logits where outputs[k] ≠ 0. Then for each pair p of K, the row of batch index
   * pairIndex[p] is scored against pairTarget[p]: stats [K, 5] = nll (nats), lse, max,
   * argmax, rank (llama-perplexity's arithmetic, native/row-stats.h), and/or the raw row
   * into out [K, V]. A non-finite row has nll = NaN and argmax = the first offending token
   * (−1 if none). Calls run natively one after another, in call order.
   */
  decode(
    c: NativeContextHandle,
    clear: boolean,
    tokens: Int32Array,
    pos: Int32Array,
    seqStart: Int32Array | null,
    seqIds: Int32Array | null,
    outputs: Uint8Array,
    pairIndex: Int32Array,
    pairTarget: Int32Array,
    out: Float32Array | null,
    stats: Float64Array | null,
  ): Promise<number>;
  /**
   * The row statistics decode computes, on rows [targets.length, V] the caller gives:
   * with `scalar`, the reference loop (libm expf, summed in index order, llama.cpp's
   * exactly); else the implementation decode uses. Returns its name: 'scalar',
   * 'avx2' or 'avx512' (XENT_NATIVE_ROW_STATS=scalar|avx2 caps the choice).
   */
  rowStats(logits: Float32Array, V: number, targets: Int32Array, stats: Float64Array, scalar: boolean): string;
}

/** Repository (or installed package) root: this file is src/models/gguf or dist/models/gguf. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let cached: { binding: XentLlamaBinding; libDir: string } | null | undefined;
let loadError: string | undefined;

/** The binding, initialised once; undefined when it was not built (see `nativeUnavailableReason`). */
export function loadNativeBinding(): XentLlamaBinding | undefined {
  if (cached !== undefined) return cached?.binding;
  cached = null;
  if (process.env.XENT_NATIVE === '0') {
    loadError = 'disabled by XENT_NATIVE=0';
    return undefined;
  }
  const file = join(PACKAGE_ROOT, 'build', 'native', 'xent-llama.node');
  const metaFile = join(PACKAGE_ROOT, 'build', 'native', 'xent-llama.json');
  if (!existsSync(file) || !existsSync(metaFile)) {
    loadError = `the native binding ${file} was not built (scripts/build-native.mjs needs node-llama-cpp, git and a C compiler)`;
    return undefined;
  }
  try {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { libDir: string };
    const binding = createRequire(import.meta.url)(file) as XentLlamaBinding;
    binding.init(meta.libDir, process.env.XENT_LLAMA_LOG === '1');
    cached = { binding, libDir: meta.libDir };
    return binding;
  } catch (e) {
    loadError = `the native binding failed to load: ${(e as Error).message}`;
    return undefined;
  }
}

/** Why `loadNativeBinding()` returned undefined. */
export function nativeUnavailableReason(): string | undefined {
  return loadError;
}
