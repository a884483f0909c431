/**
 * One llama_context of the native engine and the calls queued on it. A call issues all its
 * decode steps at once; they run natively one after another, in call order (native/decode.h),
 * so a call may continue the KV cache its previous step filled and the next call's first
 * decode starts the moment this one's last ends.
 *
 * A model has one lane, or several (`contexts`) for packed requests: independent contexts
 * over the same weights, each with its share of the threads, that decode different calls at
 * the same time. For a small model that is faster than one context with every thread: a
 * decode is a graph of tens to hundreds of nodes, each too short to share, and with n threads
 * every node ends at a barrier where the threads wait for the slowest; one thread per context
 * has no barrier at all (`autoContexts` has the measurements). Each query row's arithmetic
 * does not depend on the thread count (ggml splits rows among threads, never a row's sums),
 * so the results are the same.
 */
import { XentError } from '../../core/errors.js';
import { type ContextLayout, layoutServes } from './gguf-batches.js';
import type { GgufHeader } from './gguf-header.js';
import type { FlashAttention } from './gguf-language-model.js';
import type { NativeContextHandle, NativeModelHandle, XentLlamaBinding } from './gguf-native.js';

export class ContextLane {
  private handle: NativeContextHandle | undefined;
  private layout: ContextLayout | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Callers take turns to issue their steps (see acquire). */
  private gate: Promise<void> = Promise.resolve();

  constructor(
    private readonly b: XentLlamaBinding,
    private readonly m: NativeModelHandle,
    /** CPU threads of this lane's context. */
    readonly threads: number,
    private readonly flashAttention: FlashAttention,
    private readonly modelId: string,
  ) {}

  /** Whether the lane has a context yet. */
  get made(): boolean {
    return this.handle !== undefined;
  }

  /** Calls issued on this lane and not yet resolved. */
  get pending(): number {
    return this.inflight.size;
  }

  /** The context's sizes and flash attention as llama.cpp resolved it; undefined before the first context. */
  info(): ReturnType<XentLlamaBinding['contextInfo']> | undefined {
    return this.handle ? this.b.contextInfo(this.handle) : undefined;
  }

  /** True when this lane's context (if any) serves `layout` without being replaced. */
  serves(layout: ContextLayout): boolean {
    return this.layout !== undefined && layoutServes(this.layout, layout);
  }

  /** Replaces the context (no call may be using it) by one for `layout`. */
  create(layout: ContextLayout): void {
    if (this.handle) this.b.freeContext(this.handle);
    this.handle = undefined;
    this.layout = undefined;
    const fa = this.flashAttention === 'auto' ? -1 : this.flashAttention === 'on' ? 1 : 0;
    try {
      this.handle = this.b.createContext(
        this.m,
        layout.nCtx,
        layout.nBatch,
        layout.nUbatch,
        layout.nSeqMax,
        this.threads,
        fa,
        layout.kvUnified,
      );
    } catch (e) {
      throw new XentError(
        'invalid_argument',
        'GgufLanguageModel.score',
        `llama.cpp could not create a context of ${layout.nCtx} tokens (${layout.nSeqMax} sequences) for ${this.modelId}`,
        { arg: 'ctx', value: layout.nCtx },
        { cause: e },
      );
    }
    this.layout = layout;
  }

  /**
   * Waits for the callers before this one to have issued their steps (or, for a sliced
   * run, to have finished), then returns the function that lets the next one in. Steps
   * of two callers never interleave on the context, which carries the KV cache from one
   * step of a call to the next.
   */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const prev = this.gate;
    this.gate = prev.then(() => held);
    return prev.then(() => release);
  }

  /** The calls in flight now (to wait for before replacing the context). */
  snapshot(): Promise<unknown>[] {
    return [...this.inflight];
  }

  /** A context that serves `layout`: the current one, or a new one once the calls in flight on the old one are done. */
  async contextFor(layout: ContextLayout, prior: readonly Promise<unknown>[]): Promise<NativeContextHandle> {
    if (!this.serves(layout)) {
      await Promise.allSettled(prior);
      this.create(layout);
    }
    return this.handle!;
  }

  /**
   * Runs `work` on a context that serves `layout`. `work` issues all its steps before its
   * first await; the next caller may issue its own right after, so calls pipeline.
   */
  run<T>(layout: ContextLayout, work: (ctx: NativeContextHandle) => Promise<T>, assertOpen: () => void): Promise<T> {
    const prior = this.snapshot();
    const p = (async () => {
      const release = await this.acquire();
      let pending: Promise<T>;
      try {
        assertOpen();
        pending = work(await this.contextFor(layout, prior));
      } finally {
        release();
      }
      return pending;
    })();
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Waits for every call, then frees the context. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.gate;
    if (this.handle) this.b.freeContext(this.handle);
    this.handle = undefined;
    this.layout = undefined;
  }
}

/** Contexts that can decode at once: each decode waits on one of libuv's 4 pool threads (native/decode.h). */
export const MAX_CONTEXTS = 4;

/** Largest file, and vocabulary, `autoContexts` gives two contexts. */
const SMALL_MODEL_BYTES = 512 * 2 ** 20;
const SMALL_VOCABULARY = 65536;

/**
 * Contexts for packed requests when the caller leaves it to the engine (`contexts: 'auto'`, as
 * `xent tasks` does): two for a GGUF file of at most 512 MiB whose vocabulary has at most 65536
 * tokens, else one. Decoding groups of tasks on two contexts of one thread each beats one
 * context with both threads while the model's matrices are small. Measured with
 * `xent tasks --threads 2 --ctx 512` (one context → two; medians of 3 runs, for the
 * synthetic models the faster of 2): stories260K (1.2 MB) winogrande.csv 1.20 → 0.96 s,
 * mc.bin 5.74 → 5.01 s; llama-2-tiny-random (1.7 MB) hellaswag.txt 6.22 → 4.13 s,
 * winogrande.csv 1.71 → 1.42 s; llama-architecture F16 models with random weights and a
 * 32000-token vocabulary, 60 HellaSwag tasks: 40 MB (E = 256, 4 layers) 1.78 → 1.34 s,
 * 118 MB (E = 512, 8 layers) 4.45 → 3.85 s, 440 MB (E = 1024, 12 layers) 18.0 → 17.5 s.
 * The gain falls with the size of the matrices; above 512 MiB it would no longer pay for
 * the second context's memory: its KV cache (1.25 MiB for stories260K at 2048 cells) and its
 * compute buffer (3.5 MiB for stories260K; 62.5 MiB for llama-2-tiny-random, nearly all of
 * it n_ubatch × V float32 logits, which at V = 131072 take 256 MiB: hence the vocabulary
 * bound).
 */
export function autoContexts(header: Pick<GgufHeader, 'fileBytes' | 'vocabSize'>): number {
  return header.fileBytes <= SMALL_MODEL_BYTES && (header.vocabSize ?? Infinity) <= SMALL_VOCABULARY ? 2 : 1;
}

/** `threads` shared among `n` contexts as evenly as whole threads allow (the first ones get the remainder). */
export function laneThreads(threads: number, n: number): number[] {
  const lanes = Math.max(1, Math.min(n, threads));
  return Array.from({ length: lanes }, (_, i) => Math.floor(threads / lanes) + (i < threads % lanes ? 1 : 0));
}
