/**
 * lm-evaluation-harness 0.4.13's scoring of a multiple-choice task for an API model
 * (`local-completions`, `tokenized_requests=True`, remote tokenizer), as requests for a
 * LogProbScorer and the outcome computed from their values:
 *
 *  - requests (lm_eval/api/task.py, construct_requests): one per choice, context and
 *    continuation `" " + choice`; for Winogrande (`multiple_input`) the contexts differ
 *    (sentence up to the blank + option) and the continuation is `" " + ` the rest of the
 *    sentence, stripped (lm_eval/tasks/winogrande/preprocess_winogrande.py);
 *  - tokens (lm_eval/api/model.py, `_encode_pair`, causal): trailing whitespace of the
 *    context moves to the continuation; context + continuation is encoded whole, the context
 *    alone, and the continuation is the whole encoding past the context's length; no BOS
 *    (the remote tokenizer is called with add_special_tokens false; `bos` emulates a
 *    tokenizer that adds one); an empty context becomes the prefix token (BOS);
 *  - truncation (lm_eval/models/api_models.py, batch_loglikelihood_requests): the request is
 *    the last max_length − 1 tokens of context + continuation, and ctxlen shrinks by what was
 *    cut; ctxlen must stay > 0 (openai_completions.py asserts it);
 *  - log-likelihood: the sum of the continuation tokens' log-probabilities, in order;
 *  - metrics (ConfigurableTask.process_results): acc = argmax of the sums, acc_norm = argmax
 *    of sum / len(choice) in characters (for Winogrande the "choices" are the two contexts),
 *    numpy's argmax (first maximum).
 */
import { XentError } from '../core/errors.js';
import { argmaxFirst, type ChoiceScore, charCount, type PreparedTask, type TaskOutcome } from './outcome.js';
import type { LogProbRequest, ScoredRequest } from './scorer.js';
import type { Task } from './task.js';
import { commonPrefix, type Tokenize } from './tokens.js';

const OP = 'tasks';

/** Python's str.isspace characters (Unicode White_Space plus the ASCII separators \x1c–\x1f). */
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

function trailingSpaces(s: string): number {
  let n = 0;
  while (n < s.length && PY_SPACE.test(s[s.length - 1 - n]!)) n++;
  return n;
}

/** Python's str.strip(). */
export function pyStrip(s: string): string {
  let a = 0;
  while (a < s.length && PY_SPACE.test(s[a]!)) a++;
  return s.slice(a, s.length - trailingSpaces(s.slice(a)));
}

export interface LmEvalTaskContext {
  /** The model's tokenizer, no special tokens. */
  tokenize: Tokenize;
  /** lm-eval's max_length (requests keep its last max_length − 1 tokens). */
  maxLength: number;
  /** Prepend BOS to every encoding (a tokenizer with add_bos_token). */
  bos: number | undefined;
  /** The prefix token for an empty context (lm-eval: BOS, else EOS). */
  prefixToken: number | undefined;
  number: number;
  file: string;
}

async function encodePair(c: LmEvalTaskContext, context: string, continuation: string): Promise<[number[], number[]]> {
  const withBos = (t: Int32Array): number[] => (c.bos !== undefined ? [c.bos, ...t] : Array.from(t));
  if (context === '') {
    const cont = Array.from(await c.tokenize(continuation));
    if (c.prefixToken === undefined)
      throw new XentError('invalid_argument', OP, `task ${c.number}: an empty context needs a BOS token`, {
        task: c.number,
      });
    return c.prefixToken !== cont[0] ? [[c.prefixToken], cont] : [cont.slice(0, 1), cont.slice(1)];
  }
  const n = trailingSpaces(context);
  if (n > 0) {
    continuation = context.slice(-n) + continuation;
    context = context.slice(0, -n);
  }
  const [whole, ctx] = await Promise.all([c.tokenize(context + continuation), c.tokenize(context)]);
  const w = withBos(whole);
  const x = withBos(ctx);
  return [x, w.slice(x.length)];
}

export async function prepareLmEval(c: LmEvalTaskContext, task: Task, where: string): Promise<PreparedTask> {
  // (context, continuation) per choice, and the strings whose lengths normalise acc_norm.
  let pairs: Array<[string, string]>;
  let normTexts: string[];
  if (task.kind === 'continuation') {
    pairs = task.choices.map((ch) => [task.context, ` ${ch}`]);
    normTexts = task.choices;
  } else {
    const target = ` ${pyStrip(task.second)}`;
    normTexts = task.options.map((o) => task.first + o);
    pairs = normTexts.map((ctx) => [ctx, target]);
  }
  const maxLen = c.maxLength - 1;
  let truncated = 0;
  let truncatedRequests = 0;
  const reqs: Array<LogProbRequest | null> = [];
  const counts: number[] = [];
  for (const [i, [context, cont]] of pairs.entries()) {
    const [x, y] = await encodePair(c, context, cont);
    const all = [...x, ...y];
    const cut = Math.max(0, all.length - maxLen);
    const ctxlen = x.length - cut;
    if (ctxlen <= 0) {
      throw new XentError(
        'too_short',
        OP,
        `${c.file} ${where} (task ${c.number}), choice ${i + 1}: its ${y.length} continuation tokens leave no context within max_length − 1 = ${maxLen} tokens (lm-eval asserts ctxlen > 0); raise --ctx`,
        { file: c.file, arg: '--ctx', task: c.number },
      );
    }
    truncated += cut;
    if (cut > 0) truncatedRequests++;
    counts.push(y.length);
    reqs.push(y.length > 0 ? { tokens: Int32Array.from(all.slice(cut)), from: ctxlen - 1 } : null);
  }
  // The choices' requests share their context's tokens (all of them for one-context tasks):
  // a batching engine decodes those once.
  const todo = reqs.filter((r): r is LogProbRequest => r !== null);
  for (let i = 1; i < todo.length; i++) todo[i]!.prefix = commonPrefix([todo[i - 1]!.tokens, todo[i]!.tokens]);
  const cells = todo.reduce((a, r) => a + r.tokens.length - (r.prefix ?? 0), 0);
  return {
    requests: todo,
    cells,
    sequences: todo.length,
    finish: (scored) => finishLmEval(task, reqs, scored, counts, normTexts, truncated, truncatedRequests),
  };
}

function finishLmEval(
  task: Task,
  reqs: ReadonlyArray<LogProbRequest | null>,
  scored: readonly ScoredRequest[],
  counts: readonly number[],
  normTexts: readonly string[],
  truncated: number,
  truncatedRequests: number,
): TaskOutcome {
  let j = 0;
  const lls = reqs.map((r) => {
    if (r === null) return 0;
    const lp = scored[j++]!.logProbs;
    let s = 0;
    for (let k = 0; k < lp.length; k++) s += lp[k]!;
    return s;
  });
  const lens = normTexts.map(charCount);
  const normed = lls.map((ll, i) => ll / lens[i]!);
  const pred = argmaxFirst(lls);
  const predNorm = argmaxFirst(normed);
  const gold = task.gold[0]!;
  const acc = pred === gold ? 1 : 0;
  const accNorm = predNorm === gold ? 1 : 0;
  // The headline: acc_norm for one-context tasks (HellaSwag, ARC), acc for Winogrande (its only metric).
  const headlineNorm = task.kind === 'continuation';
  const choices = lls.map(
    (ll, i): ChoiceScore => ({
      logprobNats: ll,
      tokens: counts[i]!,
      chars: lens[i]!,
      score: headlineNorm ? normed[i]! : ll,
    }),
  );
  const winner = headlineNorm ? predNorm : pred;
  return {
    choices,
    winner,
    correct: winner === gold,
    truncatedTokens: truncated,
    truncatedRequests,
    lmEval: { pred, predNorm, acc, accNorm },
  };
}
