/**
 * How the native GGUF engine lays out its llama_batch calls: which tokens go into each
 * llama_decode, at which positions, in which sequences, with logits for which rows.
 * Pure planning; gguf-native-model.ts runs the steps (native/decode.h decodes one each).
 *
 * Three layouts, each chosen so that llama.cpp sees the micro-batches (ubatches) it would
 * see in llama-perplexity, and so computes the same logits bit for bit:
 *
 *  - chunks (planChunks): llama-perplexity's perplexity() and kl_divergence()
 *    (tools/perplexity/perplexity.cpp). With n_seq = max(1, ⌊n_batch / T⌋) > 1 the chunks
 *    sit side by side in ONE decode, chunk s as sequence s at positions 0…T−1, in a
 *    context of n_seq × T cells and n_seq KV streams (kv_unified off), which llama.cpp
 *    splits into ubatches with split_equal. Logits are requested from position ⌊T/2⌋ on,
 *    the last position included, as llama-perplexity does.
 *  - one sequence (planSequence): chunks with n_seq = 1, sliding windows and score().
 *    llama-perplexity decodes batches of n_batch tokens, which llama.cpp cuts into
 *    ubatches of n_ubatch consecutive tokens (split_simple, one KV stream). Decoding each
 *    ubatch as its own llama_decode, the KV cache carried from one to the next, gives the
 *    same ubatches and so the same logits, while llama.cpp's output buffer and the rows
 *    read from it never exceed one ubatch: memory stays flat in the context length.
 *  - requests (groupRequests, planRequests): llama-perplexity's multiple-choice layout
 *    (hellaswag_score): a unified KV cache, requests packed while their cells fit, a
 *    shared prefix decoded once with the sequence ids of every request that shares it.
 *    The batch is cut into n_batch views (decode_helper) and ubatch pieces as above.
 *
 * Shapes: T tokens per chunk; N tokens per step; K scored pairs per step.
 */
import { XentError } from '../../core/errors.js';
import type { BatchRequest } from '../batch.js';

/** llama_context_params that decide the ubatches (the rest are fixed in native/xent-llama.c). */
export interface ContextLayout {
  /** KV cells requested (llama.cpp pads to a multiple of 256 per stream). */
  nCtx: number;
  /** Logical batch: most tokens per llama_decode. */
  nBatch: number;
  /** Physical batch: most tokens per ubatch. */
  nUbatch: number;
  nSeqMax: number;
  kvUnified: boolean;
}

/** One llama_decode (native decode()): the batch, and where its scored rows go. */
export interface DecodeStep {
  /** Empty the KV cache before this batch (the first step of a chunk or a packed decode). */
  clear: boolean;
  tokens: Int32Array;
  pos: Int32Array;
  /** Token k's sequences are seqIds[seqStart[k] … seqStart[k+1]); null: all in sequence 0. */
  seqStart: Int32Array | null;
  seqIds: Int32Array | null;
  /** 1 where llama.cpp computes the token's logits. */
  outputs: Uint8Array;
  /** Pair p: the logits row of batch index pairIndex[p], scored against pairTarget[p]… */
  pairIndex: Int32Array;
  pairTarget: Int32Array;
  /** …is row pairRow[p] of result pairDest[p] (chunk or request index). */
  pairDest: Int32Array;
  pairRow: Int32Array;
}

/**
 * llama-perplexity's context for chunks of T tokens with -b `batch` -ub `ubatch`
 * (llama_perplexity(): n_parallel = max(1, n_batch / n_ctx), n_ctx ×= n_parallel,
 * n_batch = min(n_batch, n_ctx); llama.cpp then caps n_ubatch at n_batch).
 */
export function perplexityLayout(T: number, batch: number, ubatch: number): ContextLayout {
  const nSeqMax = Math.max(1, Math.floor(batch / T));
  const nCtx = nSeqMax * T;
  const nBatch = Math.min(batch, nCtx);
  return { nCtx, nBatch, nUbatch: Math.min(ubatch, nBatch), nSeqMax, kvUnified: false };
}

/**
 * Packed requests (scoreBatch): `sequences` sequences of up to T tokens in one unified KV
 * cache — llama-perplexity's context for its tasks (n_parallel × ctx cells), or `kv` cells
 * where the caller sets them — or more cells where one group of requests needs them.
 */
export function requestsLayout(
  T: number,
  batch: number,
  ubatch: number,
  sequences: number,
  cells = 0,
  kv = sequences * T,
): ContextLayout {
  const nCtx = Math.max(kv, cells);
  const nBatch = Math.min(batch, nCtx);
  return { nCtx, nBatch, nUbatch: Math.min(ubatch, nBatch), nSeqMax: sequences, kvUnified: true };
}

/** One sequence of up to T tokens: one KV stream, batches of n_batch in ubatch pieces. */
export function sequenceLayout(T: number, batch: number, ubatch: number): ContextLayout {
  const nBatch = Math.min(batch, T);
  return { nCtx: T, nBatch, nUbatch: Math.min(ubatch, nBatch), nSeqMax: 1, kvUnified: false };
}

/**
 * True when a context made for `have` decodes `want`'s steps into the same ubatches.
 * Several KV streams (chunks side by side): llama.cpp splits the batch itself
 * (split_equal), so the layout must be llama-perplexity's exactly. One stream (one
 * sequence, or a unified cache): every step is at most one ubatch, which llama.cpp
 * decodes as it is, so any one-stream context with room for the step and the cells does.
 */
export function layoutServes(have: ContextLayout, want: ContextLayout): boolean {
  const streamsHave = have.kvUnified ? 1 : have.nSeqMax;
  const streamsWant = want.kvUnified ? 1 : want.nSeqMax;
  if (streamsWant > 1)
    return (
      !have.kvUnified &&
      have.nSeqMax === want.nSeqMax &&
      have.nCtx === want.nCtx &&
      have.nBatch === want.nBatch &&
      have.nUbatch === want.nUbatch
    );
  const cellsPerStream = have.kvUnified ? have.nCtx : have.nCtx / have.nSeqMax;
  return (
    streamsHave === 1 && have.nSeqMax >= want.nSeqMax && cellsPerStream >= want.nCtx && have.nUbatch >= want.nUbatch
  );
}

/** src[a … b) − minus as an Int32Array (a loop: TypedArray.from's iterator path cost ~10× more per decode). */
function int32Range(src: readonly number[], a: number, b: number, minus: number): Int32Array {
  const out = new Int32Array(b - a);
  for (let i = a; i < b; i++) out[i - a] = src[i]! - minus;
  return out;
}

class StepBuilder {
  private readonly tokens: number[] = [];
  private readonly pos: number[] = [];
  private readonly seqStart: number[] = [0];
  private readonly seqIds: number[] = [];
  private readonly outputs: number[] = [];
  private multi = false;
  readonly pairs: Array<[index: number, target: number, dest: number, row: number]> = [];

  get length(): number {
    return this.tokens.length;
  }

  add(token: number, pos: number, seqs: readonly number[], output: boolean): number {
    this.tokens.push(token);
    this.pos.push(pos);
    for (const s of seqs) this.seqIds.push(s);
    this.seqStart.push(this.seqIds.length);
    if (seqs.length !== 1 || seqs[0] !== 0) this.multi = true;
    this.outputs.push(output ? 1 : 0);
    return this.tokens.length - 1;
  }

  /** Steps of at most `nBatch` tokens, each cut into pieces of `nUbatch` (null: whole views). */
  split(nBatch: number, nUbatch: number | null): DecodeStep[] {
    const steps: DecodeStep[] = [];
    const pairs = [...this.pairs].sort((a, b) => a[0] - b[0]);
    let p = 0;
    const N = this.tokens.length;
    for (let view = 0; view < N; view += nBatch) {
      const viewEnd = Math.min(view + nBatch, N);
      const piece = nUbatch ?? nBatch;
      for (let a = view; a < viewEnd; a += piece) {
        const b = Math.min(a + piece, viewEnd);
        const q = p;
        while (p < pairs.length && pairs[p]![0] < b) p++;
        const K = p - q;
        const step: DecodeStep = {
          clear: a === 0,
          tokens: int32Range(this.tokens, a, b, 0),
          pos: int32Range(this.pos, a, b, 0),
          seqStart: this.multi ? int32Range(this.seqStart, a, b + 1, this.seqStart[a]!) : null,
          seqIds: this.multi ? int32Range(this.seqIds, this.seqStart[a]!, this.seqStart[b]!, 0) : null,
          outputs: Uint8Array.from(this.outputs.slice(a, b)),
          pairIndex: new Int32Array(K),
          pairTarget: new Int32Array(K),
          pairDest: new Int32Array(K),
          pairRow: new Int32Array(K),
        };
        for (let k = 0; k < K; k++) {
          const [index, target, dest, row] = pairs[q + k]!;
          step.pairIndex[k] = index - a;
          step.pairTarget[k] = target;
          step.pairDest[k] = dest;
          step.pairRow[k] = row;
        }
        steps.push(step);
      }
    }
    return steps;
  }
}

/**
 * llama-perplexity's decode of chunks (each T tokens, BOS already in place): rows
 * from … T−2 of chunk c are pairs (dest c, row k − from); logits from `from` on.
 */
export function planChunks(chunks: readonly Int32Array[], from: number, layout: ContextLayout): DecodeStep[] {
  const T = chunks[0]!.length;
  if (chunks.length > 1 || layout.nSeqMax > 1) {
    // Side by side in one decode (T ≤ n_batch / n_seq): llama.cpp splits it with
    // split_equal across the KV streams, so the batch is passed whole.
    const b = new StepBuilder();
    chunks.forEach((c, s) => {
      for (let k = 0; k < T; k++) {
        const i = b.add(c[k]!, k, [s], k >= from);
        if (k >= from && k <= T - 2) b.pairs.push([i, c[k + 1]!, s, k - from]);
      }
    });
    return b.split(layout.nBatch, null);
  }
  return planSequence(chunks[0]!, from, from, T - 1, layout);
}

/**
 * One sequence in sequence 0: logits for positions outFrom … outTo, rows from … T−2
 * scored (dest 0, row k − from); batches of n_batch decoded as ubatch pieces.
 */
export function planSequence(
  tokens: Int32Array,
  from: number,
  outFrom: number,
  outTo: number,
  layout: ContextLayout,
): DecodeStep[] {
  const T = tokens.length;
  const b = new StepBuilder();
  for (let k = 0; k < T; k++) {
    const i = b.add(tokens[k]!, k, [0], k >= outFrom && k <= outTo);
    if (k >= from && k <= T - 2) b.pairs.push([i, tokens[k + 1]!, 0, k - from]);
  }
  return b.split(layout.nBatch, layout.nUbatch);
}

/** Requests that share a prefix, decoded together: the prefix once, then each one's own tokens. */
export interface RequestGroup {
  /** Indices into the request list. */
  members: number[];
  /** Shared leading tokens. */
  prefix: number;
  /** KV cells the group needs: prefix + Σ (T_r − prefix). */
  cells: number;
}

/**
 * Runs of requests chained by `prefix` (request r shares its first prefix_r tokens with
 * request r−1) become groups sharing the shortest such prefix; a run longer than
 * `maxSeqs` is cut into groups of `maxSeqs`.
 */
export function groupRequests(requests: readonly BatchRequest[], maxSeqs: number): RequestGroup[] {
  const groups: RequestGroup[] = [];
  let r = 0;
  while (r < requests.length) {
    const members = [r];
    let prefix = requests[r]!.tokens.length;
    let s = r + 1;
    while (s < requests.length && (requests[s]!.prefix ?? 0) > 0 && members.length < maxSeqs) {
      prefix = Math.min(prefix, requests[s]!.prefix!);
      members.push(s++);
    }
    if (members.length === 1) prefix = 0;
    let cells = prefix;
    for (const m of members) cells += requests[m]!.tokens.length - prefix;
    groups.push({ members, prefix, cells });
    r = s;
  }
  return groups;
}

/**
 * Packs groups into decodes, in order, while their cells fit `layout.nCtx` and their
 * sequences `layout.nSeqMax` (hellaswag_score's loop); each decode is cut into n_batch
 * views and ubatch pieces. Pairs: rows from_r … T_r−2 of request r (dest r, row k − from_r).
 */
export function planRequests(
  op: string,
  requests: readonly BatchRequest[],
  groups: readonly RequestGroup[],
  layout: ContextLayout,
): DecodeStep[][] {
  const decodes: DecodeStep[][] = [];
  let g = 0;
  while (g < groups.length) {
    const b = new StepBuilder();
    let cells = 0;
    let seqs = 0;
    const first = g;
    while (
      g < groups.length &&
      cells + groups[g]!.cells <= layout.nCtx &&
      seqs + groups[g]!.members.length <= layout.nSeqMax
    ) {
      layoutGroup(b, requests, groups[g]!, seqs);
      cells += groups[g]!.cells;
      seqs += groups[g]!.members.length;
      g++;
    }
    if (g === first) {
      const gr = groups[g]!;
      throw new XentError(
        'invalid_argument',
        op,
        `requests ${gr.members.join(', ')} need ${gr.cells} KV cells and ${gr.members.length} sequences, more than the context holds (${layout.nCtx} cells, ${layout.nSeqMax} sequences)`,
        { arg: 'requests', row: gr.members[0], expected: layout.nCtx, actual: gr.cells },
      );
    }
    decodes.push(b.split(layout.nBatch, layout.nUbatch));
  }
  return decodes;
}

function layoutGroup(b: StepBuilder, requests: readonly BatchRequest[], g: RequestGroup, seq0: number): void {
  const P = g.prefix;
  const seqs = g.members.map((_, i) => seq0 + i);
  const lead = requests[g.members[0]!]!.tokens;
  // The shared prefix: every member's sequence id; logits where any member scores the row.
  const prefixIndex: number[] = [];
  for (let k = 0; k < P; k++) {
    const wanted = g.members.some((m) => k >= requests[m]!.from && k <= requests[m]!.tokens.length - 2);
    prefixIndex.push(b.add(lead[k]!, k, seqs, wanted));
  }
  g.members.forEach((m, i) => {
    const q = requests[m]!;
    const T = q.tokens.length;
    for (let k = Math.max(q.from, 0); k < Math.min(P, T - 1); k++)
      b.pairs.push([prefixIndex[k]!, q.tokens[k + 1]!, m, k - q.from]);
    for (let k = P; k < T; k++) {
      const scored = k >= q.from && k <= T - 2;
      const idx = b.add(q.tokens[k]!, k, [seq0 + i], scored);
      if (scored) b.pairs.push([idx, q.tokens[k + 1]!, m, k - q.from]);
    }
  });
}
