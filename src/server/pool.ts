/**
 * The models `xent serve` computes with (`--parallel N`: N contexts of the same model) and the
 * one place where a prompt's model calls are made. Each model runs one call at a time, so
 * concurrent requests never share a model state; a call goes to the model with the shortest
 * queue. `scoreMany` is where several prompts of one request are scored: today one `score()`
 * per prompt in turn on whichever model is free (the fallback any LanguageModel supports); a
 * multi-sequence batch call would replace its body, packing the prompts into as few model
 * calls as the context allows.
 */
import { scoreBatch } from '../models/batch.js';
import type { LanguageModel, PositionScores, ScoreOptions } from '../models/language-model.js';

interface Slot {
  model: LanguageModel;
  /** Calls queued or running on this model. */
  load: number;
  tail: Promise<unknown>;
}

export class ModelPool {
  private readonly slots: Slot[];

  constructor(models: readonly LanguageModel[]) {
    if (models.length === 0) throw new Error('ModelPool needs at least one model');
    this.slots = models.map((model) => ({ model, load: 0, tail: Promise.resolve() }));
  }

  /** The first model: vocabulary, tokenizer and texts (every model of the pool is the same file). */
  get model(): LanguageModel {
    return this.slots[0]!.model;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Runs `fn` on the least loaded model once that model's earlier calls are done. */
  run<T>(fn: (m: LanguageModel) => Promise<T>): Promise<T> {
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.load < best.load) best = s;
    best.load++;
    const p = best.tail.then(() => fn(best.model));
    best.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p.finally(() => {
      best.load--;
    });
  }

  score(tokens: Int32Array, opts: ScoreOptions): Promise<PositionScores> {
    return this.run((m) => m.score(tokens, opts));
  }

  /**
   * Scores each of `seqs` (`full` the same for all), answers in order: one scoreBatch call
   * (src/models/batch.ts: several sequences per decode where the engine packs them, one
   * score() each elsewhere) on one model.
   */
  scoreMany(seqs: readonly Int32Array[], opts: (i: number) => ScoreOptions): Promise<PositionScores[]> {
    if (seqs.length === 0) return Promise.resolve([]);
    const full = opts(0).full === true;
    return this.run((m) =>
      scoreBatch(
        m,
        seqs.map((tokens, i) => ({ tokens, from: opts(i).from })),
        full ? { full } : {},
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.tail));
    await Promise.all(this.slots.map((s) => s.model.close()));
  }
}
