/**
 * Where the native GGUF engine's scored rows land: one arena per call (or one reused across
 * the slices of a sliced run), [rows, 5] float64 row statistics (nll in nats, lse, max,
 * argmax, rank; native/row-stats.h), for full distributions [rows, V] float32 logits, and for
 * task scoring [rows, 2] float32 llama-perplexity task log-probabilities
 * (native/llama-task.h), with result d's rows at base[d] … base[d+1]−1; and the
 * PositionScores read from them.
 */
import { XentError } from '../../core/errors.js';
import type { PositionScores } from '../language-model.js';
import type { DecodeStep } from './gguf-batches.js';

/** Where the rows of a call go: results d = 0…D−1, row r of d at arena row base[d] + r. */
export class Arena {
  readonly base: Int32Array;
  /** Absent where only the task values are wanted (they replace the statistics: see arenaResults). */
  readonly stats: Float64Array | null;
  readonly logits: Float32Array | null;
  readonly llama: Float32Array | null;
  /**
   * `reuse`: an arena whose rows are no longer needed; its memory is taken over when large
   * enough, so that a sliced run allocates one buffer, not one per decode (a garbage
   * collector frees dead 65 MB rows late: the process's peak memory would show them).
   */
  constructor(
    readonly counts: readonly number[],
    readonly V: number,
    want: { full?: boolean; llama?: boolean },
    reuse?: Arena,
  ) {
    this.base = new Int32Array(counts.length + 1);
    counts.forEach((c, d) => {
      this.base[d + 1] = this.base[d]! + c;
    });
    const rows = this.base[counts.length]!;
    const stats = reuse?.stats?.buffer;
    this.stats =
      want.llama && !want.full
        ? null
        : stats && stats.byteLength >= rows * 40
          ? new Float64Array(stats, 0, rows * 5)
          : new Float64Array(rows * 5);
    const logits = reuse?.logits?.buffer;
    this.llama = want.llama ? new Float32Array(rows * 2) : null;
    this.logits = !want.full
      ? null
      : logits && logits.byteLength >= rows * V * 4
        ? new Float32Array(logits, 0, rows * V)
        : new Float32Array(rows * V);
  }
}

/** The arena rows of a step's pairs when they are consecutive (then the binding writes in place). */
export function consecutiveRows(step: DecodeStep, base: Int32Array): number | undefined {
  const K = step.pairIndex.length;
  if (K === 0) return 0;
  const g0 = base[step.pairDest[0]!]! + step.pairRow[0]!;
  for (let p = 1; p < K; p++) if (base[step.pairDest[p]!]! + step.pairRow[p]! !== g0 + p) return undefined;
  return g0;
}

/**
 * Per-result PositionScores from an arena; a non-finite row throws, naming the row
 * (`rowOffset[d]`: the first row of result d within its chunk, for slices). The arrays
 * alias the arena's memory where they are logits.
 */
export function arenaResults(
  op: string,
  arena: Arena,
  opts: { full?: boolean; rawLogits?: boolean },
  rowOffset?: readonly number[],
): PositionScores[] {
  const V = arena.V;
  if (!arena.stats) return taskResults(op, arena, rowOffset);
  return arena.counts.map((count, d) => {
    const b0 = arena.base[d]!;
    const stats = arena.stats!.subarray(b0 * 5, (b0 + count) * 5);
    const nats = new Float64Array(count);
    const rank = new Int32Array(count);
    const top1 = new Int32Array(count);
    const top1Prob = new Float64Array(count);
    for (let r = 0; r < count; r++) {
      const s = r * 5;
      const nll = stats[s]!;
      if (!Number.isFinite(nll)) {
        const bad = stats[s + 3]!;
        throw new XentError(
          'numerical_error',
          op,
          `non-finite logit${bad >= 0 ? ` for token ${bad}` : ''} at scored row ${r + (rowOffset?.[d] ?? 0)}`,
          { row: r + (rowOffset?.[d] ?? 0), column: bad, ...(arena.counts.length > 1 ? { result: d } : {}) },
        );
      }
      nats[r] = nll;
      top1[r] = stats[s + 3]!;
      rank[r] = stats[s + 4]!;
      top1Prob[r] = Math.exp(stats[s + 2]! - stats[s + 1]!);
    }
    const llama = arena.llama ? llamaValues(arena.llama, b0, count) : undefined;
    if (!arena.logits) return llama ? { nats, rank, top1, top1Prob, llama } : { nats, rank, top1, top1Prob };
    const logits = arena.logits.subarray(b0 * V, (b0 + count) * V);
    if (opts.rawLogits) return { nats, rank, top1, top1Prob, logits };
    // Full distribution: log p = l − lse, in place (float32).
    for (let r = 0; r < count; r++) {
      const lse = stats[r * 5 + 1]!;
      const o = r * V;
      for (let v = 0; v < V; v++) logits[o + v] = logits[o + v]! - lse;
    }
    return { nats, rank, top1, top1Prob, logProbs: logits };
  });
}

/** Result rows b0 … b0+count−1 of the arena's [rows, 2] task values, as two arrays. */
function llamaValues(all: Float32Array, b0: number, count: number): NonNullable<PositionScores['llama']> {
  const logProbs = new Float32Array(count);
  const softmaxLogProbs = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    logProbs[r] = all[2 * (b0 + r)]!;
    softmaxLogProbs[r] = all[2 * (b0 + r) + 1]!;
  }
  return { logProbs, softmaxLogProbs };
}

/**
 * Task scoring's results: llama-perplexity's values alone (the decode computed no row
 * statistics: a second pass over each row of V logits, which the tasks never read). nats is
 * −compute_logprobs' value; rank, top1 and top1Prob are unknown (−1, −1, NaN). A non-finite
 * value means a non-finite logit in its row (every finite row gives finite values).
 */
function taskResults(op: string, arena: Arena, rowOffset?: readonly number[]): PositionScores[] {
  return arena.counts.map((count, d) => {
    const b0 = arena.base[d]!;
    const llama = llamaValues(arena.llama!, b0, count);
    const nats = new Float64Array(count);
    for (let r = 0; r < count; r++) {
      const lp = llama.logProbs[r]!;
      if (!(Number.isFinite(lp) && Number.isFinite(llama.softmaxLogProbs[r]!))) {
        const row = r + (rowOffset?.[d] ?? 0);
        throw new XentError('numerical_error', op, `non-finite logit at scored row ${row}`, {
          row,
          ...(arena.counts.length > 1 ? { result: d } : {}),
        });
      }
      nats[r] = -lp;
    }
    return {
      nats,
      rank: new Int32Array(count).fill(-1),
      top1: new Int32Array(count).fill(-1),
      top1Prob: new Float64Array(count).fill(Number.NaN),
      llama,
    };
  });
}
