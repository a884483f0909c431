/**
 * Loads the optional native binding build/native/xent-llama.node (native/xent-llama.c,
 * built by scripts/build-native.mjs against node-llama-cpp's own libllama). It decodes
 * llama_batch layouts and returns each scored row's statistics (and raw float32 logits
 * where asked), which is what makes `xent eval` as fast as llama-perplexity at real
 * vocabulary sizes. Absent binding → undefined, and the GGUF adapter falls back to
 * node-llama-cpp's probability Map: it warns once per process (`warnMapFallback`), or
 * refuses under XENT_NATIVE=require (`refuseMapFallbackIfRequired`). The binding is built in
 * a checkout by `npm run build` and in an installed package by its install script, both
 * scripts/build-native.mjs, which records why when it cannot build
 * (build/native/unavailable.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XentError } from '../../core/errors.js';

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
  /**
   * Loads llama.cpp's backends from libDir (the CPU one from `cpuModule` alone when given and
   * usable here, else the best of every build there: native/cpu-backend.h); returns the device count.
   */
  init(libDir: string, log: boolean, cpuModule: string | null): number;
  /** This CPU's cpuid signature, and the file the CPU backend was loaded from ('' before init). */
  cpuBackend(): { signature: string; module: string };
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
   * argmax, rank (llama-perplexity's arithmetic, native/row-stats.h), the raw row into
   * out [K, V], and llama-perplexity's two task log-probabilities into llama [K, 2]
   * (compute_logprobs' and softmax-then-log's, native/llama-task.h), each where given. A
   * non-finite row has nll = NaN and argmax = the first offending token (−1 if none). Calls
   * run natively one after another, in call order.
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
    llama: Float32Array | null,
  ): Promise<number>;
  /**
   * The row statistics decode computes, on rows [targets.length, V] the caller gives:
   * with `scalar`, the reference loop (libm expf, summed in index order, llama.cpp's
   * exactly); else the implementation decode uses. Returns its name: 'scalar',
   * 'avx2' or 'avx512' (XENT_NATIVE_ROW_STATS=scalar|avx2 caps the choice).
   */
  rowStats(logits: Float32Array, V: number, targets: Int32Array, stats: Float64Array, scalar: boolean): string;
  /**
   * llama-perplexity's float32 task arithmetic on rows [n = targets.length, V] of raw logits
   * (native/llama-task.h; src/tasks/llama-arith.ts computes it in JavaScript): out [n, 2] holds,
   * per row, `compute_logprobs`'s log p(targets[r]) and the softmax-then-log value. decode
   * computes the same on the rows llama.cpp produces; this entry is for tests.
   */
  llamaLogProbs(logits: Float32Array, V: number, targets: Int32Array, out: Float32Array): void;
}

/**
 * The package root: the nearest folder above this file (src/models/gguf in a checkout,
 * dist/models/gguf when installed) whose package.json is xent's. Found by name rather than
 * by a fixed depth, so that moving this file cannot silently point at the wrong folder.
 */
function findPackageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let d = here; dirname(d) !== d; d = dirname(d)) {
    try {
      if ((JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: unknown }).name === 'xent') return d;
    } catch {
      // no package.json here (or not JSON): keep going up
    }
  }
  return join(here, '..', '..', '..');
}

export const PACKAGE_ROOT = findPackageRoot();
const NATIVE_DIR = join(PACKAGE_ROOT, 'build', 'native');
/** The binding, and what scripts/build-native.mjs records beside it: the build (libDir) or why there is none. */
export const NATIVE_FILES = {
  binding: join(NATIVE_DIR, 'xent-llama.node'),
  meta: join(NATIVE_DIR, 'xent-llama.json'),
  unavailable: join(NATIVE_DIR, 'unavailable.json'),
} as const;

/** What scripts/build-native.mjs wrote when it could not build the binding. */
export interface NativeBuildFailure {
  reason: string;
  fix: string;
  /** False when node-llama-cpp itself is missing (no GGUF support at all). */
  mapFallback: boolean;
  recordedAt: string;
}

/** Why the last build (at install, or `npm run build`) gave no binding; undefined when none was recorded. */
export function nativeBuildFailure(): NativeBuildFailure | undefined {
  try {
    const f = JSON.parse(readFileSync(NATIVE_FILES.unavailable, 'utf8')) as Partial<NativeBuildFailure>;
    if (typeof f.reason !== 'string' || typeof f.fix !== 'string') return undefined;
    return { reason: f.reason, fix: f.fix, mapFallback: f.mapFallback !== false, recordedAt: String(f.recordedAt) };
  } catch {
    return undefined;
  }
}

/** The command that (re)builds the binding: a checkout rebuilds, an installed package re-runs its install script. */
export function nativeRebuildCommand(): string {
  const checkout = existsSync(join(PACKAGE_ROOT, 'src')) && existsSync(join(PACKAGE_ROOT, 'tsconfig.json'));
  return checkout ? 'npm run build' : 'npm rebuild xent';
}

/** XENT_NATIVE=require (CI): a GGUF model must not end up on the map engine. */
export function nativeRequired(): boolean {
  return process.env.XENT_NATIVE === 'require';
}

let cached: { binding: XentLlamaBinding; libDir: string } | null | undefined;
let loadError: string | undefined;
let fix: string | undefined;

/** The binding, initialised once; undefined when it was not built (see `nativeUnavailableReason`). */
export function loadNativeBinding(): XentLlamaBinding | undefined {
  if (cached !== undefined) return cached?.binding;
  cached = null;
  if (process.env.XENT_NATIVE === '0') {
    loadError = 'disabled by XENT_NATIVE=0';
    fix = 'unset XENT_NATIVE';
    return undefined;
  }
  const file = NATIVE_FILES.binding;
  if (!existsSync(file) || !existsSync(NATIVE_FILES.meta)) {
    const failure = nativeBuildFailure();
    loadError = failure
      ? `the native binding was not built: ${failure.reason}`
      : `the native binding ${file} was not built`;
    fix = failure?.fix ?? `\`${nativeRebuildCommand()}\` (it needs node-llama-cpp, git and a C compiler)`;
    return undefined;
  }
  try {
    const meta = JSON.parse(readFileSync(NATIVE_FILES.meta, 'utf8')) as {
      libDir: string;
      cpu?: { signature: string; module: string };
    };
    const binding = createRequire(import.meta.url)(file) as XentLlamaBinding;
    // The CPU build llama.cpp chose at install (scripts/build-native.mjs), while this is the
    // CPU it chose it for: the scan of every build costs 14–20 ms of each start.
    const cpu = meta.cpu?.signature && meta.cpu.signature === binding.cpuBackend().signature ? meta.cpu.module : null;
    binding.init(meta.libDir, process.env.XENT_LLAMA_LOG === '1', cpu);
    cached = { binding, libDir: meta.libDir };
    return binding;
  } catch (e) {
    loadError = `the native binding failed to load: ${(e as Error).message}`;
    fix = `rebuild it: \`${nativeRebuildCommand()}\``;
    return undefined;
  }
}

/** Why `loadNativeBinding()` returned undefined. */
export function nativeUnavailableReason(): string | undefined {
  return loadError;
}

/** What to run so that `loadNativeBinding()` succeeds (after it returned undefined). */
export function nativeUnavailableFix(): string | undefined {
  return fix;
}

/**
 * For the GGUF loader, before it falls back to the map engine on its own ('auto'): under
 * XENT_NATIVE=require that fallback is an error, so that a broken build cannot pass as a
 * slow one (every figure is the same on both engines; only the speed tells them apart).
 */
export function refuseMapFallbackIfRequired(op: string): void {
  if (!nativeRequired()) return;
  throw new XentError(
    'missing_dependency',
    op,
    `XENT_NATIVE=require, and the native GGUF engine is unavailable: ${loadError ?? 'not loaded'}. Fix: ${fix ?? nativeRebuildCommand()}`,
  );
}

let warned = false;

/**
 * For the GGUF loader, once it has fallen back to the map engine on its own: says so on
 * stderr, once per process, with the cost and the fix. Not for an explicit `engine: 'map'`,
 * nor under XENT_NATIVE=0 (both chose the map engine). The ~60× is measured: llama-2-tiny-random
 * (V = 32000) with `xent eval --engine native` and `--engine map` (README, "Install").
 */
export function warnMapFallback(vocabSize: number): void {
  if (warned || process.env.XENT_NATIVE === '0') return;
  warned = true;
  process.stderr.write(
    `xent: warning: the native GGUF engine is unavailable (${loadError ?? 'not loaded'}), so this model (V = ${vocabSize}) ` +
      `runs on node-llama-cpp's probability Map: the same figures, ~60× slower at V = 32000. ` +
      `Fix: ${fix ?? nativeRebuildCommand()}; \`xent doctor\` checks the install.\n`,
  );
}
