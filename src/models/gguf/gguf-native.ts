/**
 * Loads the optional native binding build/native/xent-llama.node (native/xent-llama.c,
 * built by scripts/build-native.mjs against node-llama-cpp's own libllama). It returns
 * raw float32 logits for every scored position of a chunk, which is what makes
 * `xent eval` as fast as llama-perplexity at real vocabulary sizes. Absent binding →
 * undefined, and the GGUF adapter falls back to node-llama-cpp's probability Map.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  createContext(
    m: NativeModelHandle,
    nCtx: number,
    nBatch: number,
    nThreads: number,
    flashAttention: boolean,
  ): NativeContextHandle;
  freeContext(c: NativeContextHandle): void;
  /**
   * Fresh KV cache; decodes tokens; for positions first…T−2 writes the raw logits into
   * `out` as [T−1−first, V] and/or per-row statistics into `stats` as [T−1−first, 5]:
   * nll (nats), lse, max, argmax, rank — llama-perplexity's arithmetic (native/xent-llama.c, row_stats).
   * A non-finite row has nll = NaN and argmax = the first offending token (−1 if none).
   */
  evalChunk(
    c: NativeContextHandle,
    tokens: Int32Array,
    first: number,
    out: Float32Array | null,
    stats: Float64Array | null,
  ): Promise<number>;
  /**
   * The row statistics evalChunk computes, on rows [targets.length, V] the caller gives:
   * with `scalar`, the reference loop (libm expf, summed in index order, llama.cpp's
   * exactly); else the implementation evalChunk uses. Returns its name: 'scalar',
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
