/**
 * llama-perplexity's scoring of one task (tools/perplexity/perplexity.cpp), as requests for
 * a LogProbScorer and the outcome computed from their values:
 *
 * HellaSwag and multiple choice (`hellaswag_score`, `multiple_choice_score`): each choice c
 * is tokenised as BOS + context + " " + c; the tokens all choices share form the common
 * prefix (length P); a choice's score is the mean log-probability of its tokens from P on,
 * the first of them read from the last row of the prefix through `softmax`, the others
 * through `compute_logprobs`. HellaSwag adds them in double, multiple choice in float32.
 * The first strictly greater score wins.
 *
 * Winogrande (`winogrande_score`): each option fills the blank, BOS + first + option +
 * second; P is the prefix both share. When both sequences go more than 3 tokens past P, only
 * the tokens after `first + option` (tokenised alone: n_base) are scored, else all tokens
 * from P; the last token is dropped when more than one would be scored. Scores are float32
 * means; option 1 wins only when strictly greater. When the option itself is scored,
 * llama.cpp reads the second option's first log-probability from the last row of the first
 * sequence (its own FIXME: "this uses the wrong first logits"); that read is reproduced, as
 * it decides some tasks.
 *
 * A task must fit llama-perplexity's window: the shared prefix plus every choice's remaining
 * tokens, at most 4 × ctx rounded up to a multiple of 256 (it runs 4 sequences in one
 * unified KV cache of that size).
 */
import { XentError } from '../core/errors.js';
import { argmaxFirst, type ChoiceScore, charCount, type PreparedTask, type TaskOutcome } from './outcome.js';
import type { LogProbRequest, ScoredRequest } from './scorer.js';
import type { BlankTask, ContinuationTask } from './task.js';
import { commonPrefix, type Tokenize } from './tokens.js';

const OP = 'tasks';
const f = Math.fround;

/** llama-perplexity's window for tasks at `-c ctx`: n_parallel = 4 sequences, n_ctx padded to 256. */
export function llamaTaskWindow(ctx: number): number {
  return Math.ceil((4 * ctx) / 256) * 256;
}

export interface LlamaTaskContext {
  tokenize: Tokenize;
  /** `--ctx`: llama-perplexity's -c. */
  ctx: number;
  /** 1-based position of the task in the scoring order, for messages. */
  number: number;
  file: string;
}

function where(c: LlamaTaskContext, task: { where: string }): string {
  return `${c.file} ${task.where} (task ${c.number})`;
}

function checkFits(c: LlamaTaskContext, task: { where: string }, required: number): void {
  const window = llamaTaskWindow(c.ctx);
  if (required > window) {
    throw new XentError(
      'too_short',
      OP,
      `${where(c, task)} needs ${required} tokens (the shared prefix plus every choice), more than llama-perplexity's window of ${window} at --ctx ${c.ctx} (4 × ctx, rounded up to 256); raise --ctx`,
      { file: c.file, arg: '--ctx', value: required, task: c.number },
    );
  }
}

function checkPrefix(c: LlamaTaskContext, task: { where: string }, prefix: number): void {
  if (prefix === 0) {
    throw new XentError(
      'invalid_argument',
      OP,
      `${where(c, task)}: the choices share no first token, so the first one cannot be scored (llama.cpp scores it from the shared prefix; a model that adds BOS always has one)`,
      { file: c.file, task: c.number },
    );
  }
}

/** HellaSwag (sum in double) or multiple choice (sum in float32). */
export async function prepareLlamaContinuation(
  c: LlamaTaskContext,
  task: ContinuationTask,
  sumIn: 'double' | 'float',
): Promise<PreparedTask> {
  const seqs = await Promise.all(task.choices.map((ch) => c.tokenize(`${task.context} ${ch}`)));
  const P = commonPrefix(seqs);
  checkPrefix(c, task, P);
  seqs.forEach((s, i) => {
    if (s.length <= P)
      throw new XentError(
        'invalid_argument',
        OP,
        `${where(c, task)}: choice ${i + 1} adds no token to what all choices share (a duplicate choice?)`,
        { file: c.file, task: c.number },
      );
  });
  const cells = P + seqs.reduce((a, s) => a + s.length - P, 0);
  checkFits(c, task, cells);
  const requests = seqs.map((tokens, i) => ({ tokens, from: P - 1, prefix: i === 0 ? 0 : P }));
  return { requests, cells, sequences: seqs.length, finish: (res) => finishContinuation(task, res, sumIn) };
}

function finishContinuation(
  task: ContinuationTask,
  res: readonly ScoredRequest[],
  sumIn: 'double' | 'float',
): TaskOutcome {
  const choices = res.map((r, i): ChoiceScore => {
    const n = r.logProbs.length;
    let sum: number;
    if (r.llama) {
      sum = r.llama.firstSoftmax;
      for (let k = 1; k < n; k++) sum = sumIn === 'float' ? f(sum + r.llama.logProbs[k]!) : sum + r.llama.logProbs[k]!;
    } else {
      sum = 0;
      for (let k = 0; k < n; k++) sum += r.logProbs[k]!;
    }
    const score = sumIn === 'float' && r.llama ? f(sum / n) : sum / n;
    return { logprobNats: sum, tokens: n, chars: charCount(task.choices[i]!), score };
  });
  const winner = argmaxFirst(choices.map((x) => x.score));
  return { choices, winner, correct: task.gold.includes(winner) };
}

/** Sum and mean of scored values in float32 (llama arithmetic) or double. */
function meanOf(values: readonly number[], float: boolean): { sum: number; mean: number } {
  let sum = 0;
  for (const v of values) sum = float ? f(sum + v) : sum + v;
  return { sum, mean: float ? f(sum / values.length) : sum / values.length };
}

function pick(r: ScoredRequest, k: number): number {
  return r.llama ? r.llama.logProbs[k]! : r.logProbs[k]!;
}

export async function prepareLlamaWinogrande(c: LlamaTaskContext, task: BlankTask): Promise<PreparedTask> {
  const [o1, o2] = task.options as [string, string];
  const [s1, s2, b1, b2] = await Promise.all([
    c.tokenize(task.first + o1 + task.second),
    c.tokenize(task.first + o2 + task.second),
    c.tokenize(task.first + o1),
    c.tokenize(task.first + o2),
  ]);
  const P = commonPrefix([s1, s2]);
  checkPrefix(c, task, P);
  const cells = P + (s1.length - P) + (s2.length - P);
  checkFits(c, task, cells);
  const skipChoice = s1.length - P > 3 && s2.length - P > 3;
  const base1 = skipChoice ? b1.length : P;
  const base2 = skipChoice ? b2.length : P;
  const last1 = s1.length - base1 > 1 ? 1 : 0;
  const last2 = s2.length - base2 > 1 ? 1 : 0;
  const n1 = s1.length - base1 - last1;
  const n2 = s2.length - base2 - last2;
  if (n1 <= 0 || n2 <= 0) {
    throw new XentError(
      'invalid_argument',
      OP,
      `${where(c, task)}: option ${n1 <= 0 ? 1 : 2} leaves no token to score after the blank (llama.cpp would divide 0 by 0)`,
      { file: c.file, task: c.number },
    );
  }
  // Positions base−1 … len−2−last predict the scored tokens. Both sequences are sent whole
  // (llama.cpp decodes every token of both, the shared prefix once) and the rows past the
  // scored ones are not read. Without skipChoice, option 2's first value comes from row
  // len1 − 1 of sequence 1 (scored against s2[P]): an extra token appended to sequence 1
  // yields exactly that row.
  const reqs: LogProbRequest[] = [];
  if (skipChoice) {
    reqs.push({ tokens: s1, from: base1 - 1 });
    reqs.push({ tokens: s2, from: base2 - 1, prefix: P });
  } else {
    const probe = new Int32Array(s1.length + 1);
    probe.set(s1);
    probe[s1.length] = s2[P]!;
    reqs.push({ tokens: probe, from: base1 - 1 });
    if (n2 > 1) reqs.push({ tokens: s2, from: P, prefix: P });
  }
  const finish = (res: readonly ScoredRequest[]): TaskOutcome => {
    const float = res[0]!.llama !== undefined;
    const r1 = res[0]!;
    const v1 = Array.from({ length: n1 }, (_, k) => pick(r1, k));
    let v2: number[];
    if (skipChoice) v2 = Array.from({ length: n2 }, (_, k) => pick(res[1]!, k));
    else {
      const firstFromSeq1 = pick(r1, r1.logProbs.length - 1);
      v2 = [firstFromSeq1, ...Array.from({ length: n2 - 1 }, (_, k) => pick(res[1]!, k))];
    }
    const m1 = meanOf(v1, float);
    const m2 = meanOf(v2, float);
    const choices: ChoiceScore[] = [
      { logprobNats: m1.sum, tokens: n1, chars: charCount(o1), score: m1.mean },
      { logprobNats: m2.sum, tokens: n2, chars: charCount(o2), score: m2.mean },
    ];
    const winner = m1.mean > m2.mean ? 0 : 1;
    return { choices, winner, correct: task.gold.includes(winner) };
  };
  return { requests: reqs, cells, sequences: 2, finish };
}
