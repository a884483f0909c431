/**
 * Scores the tasks of a file with a model, one task after another, under the protocol of
 * its format: llama-perplexity's for HellaSwag, Winogrande CSV and multiple choice,
 * lm-evaluation-harness's for JSONL. Each task's record and llama.cpp's line for it go to
 * `onTask` as soon as it is scored (for streaming output); the summary comes at the end.
 */
import { XentError } from '../core/errors.js';
import type { LanguageModel } from '../models/language-model.js';
import type { TaskRecord, TasksFigures, TasksNormalization } from '../results/tasks.js';
import { llamaFinalLines, llamaHeader, llamaTaskLine } from './llama-lines.js';
import { type LlamaTaskContext, scoreLlamaContinuation, scoreLlamaWinogrande } from './llama-protocol.js';
import { type LmEvalTaskContext, scoreLmEval } from './lmeval-protocol.js';
import type { LoadedTasks } from './load-tasks.js';
import { marginOf, type TaskOutcome } from './outcome.js';
import { type LogProbScorer, modelScorer } from './scorer.js';
import { accuracyPm, lmEvalMean, wilson95 } from './stats.js';
import { choiceTexts, type Task, taskText } from './task.js';
import { tokenizer } from './tokens.js';

export interface RunTasksOptions {
  /** llama-perplexity's -c (its task window is 4 × ctx) or lm-eval's max_length. */
  ctx: number;
  /** JSONL: prepend BOS to every encoding (a tokenizer with add_bos_token). */
  bos?: boolean;
  /** Replaces the per-request model scorer (e.g. a batched engine). */
  scorer?: LogProbScorer;
  signal?: AbortSignal;
  /** Called after each task with its record and llama.cpp's line(s) for it. */
  onTask?: (record: TaskRecord, lines: string[], done: number, total: number) => void;
}

export type TasksRun = TasksFigures & {
  records: TaskRecord[];
  /** llama-perplexity's stdout lines for the run (header, one per task, closing lines); empty for JSONL. */
  lines: string[];
};

function record(task: Task, n: number, o: TaskOutcome): TaskRecord {
  const texts = choiceTexts(task);
  const r: TaskRecord = {
    task: n,
    index: task.index,
    where: task.where,
    context: taskText(task),
    choices: o.choices.map((c, i) => ({
      text: texts[i]!,
      logprob_nats: c.logprobNats,
      tokens: c.tokens,
      chars: c.chars,
      score: c.score,
    })),
    gold: task.gold,
    winner: o.winner,
    correct: o.correct,
    margin:
      marginOf(
        o.choices.map((c) => c.score),
        task.gold,
      ) ?? null,
  };
  if (o.lmEval) {
    r.pred = o.lmEval.pred;
    r.pred_norm = o.lmEval.predNorm;
    r.acc = o.lmEval.acc;
    r.acc_norm = o.lmEval.accNorm;
    r.truncated_tokens = o.truncatedTokens ?? 0;
  }
  return r;
}

export async function runTasks(
  model: LanguageModel,
  loaded: LoadedTasks,
  file: string,
  opts: RunTasksOptions,
): Promise<TasksRun> {
  const { format, tasks } = loaded;
  const lmEval = format === 'jsonl';
  if (lmEval && new Set(tasks.map((t) => t.kind)).size > 1) {
    const odd = tasks.find((t) => t.kind !== tasks[0]!.kind)!;
    throw new XentError(
      'invalid_file',
      'tasks',
      `${file} ${odd.where}: mixes Winogrande-style tasks ({"sentence", …}) with {"context", "choices"} tasks; use one shape per file`,
      { file },
    );
  }
  const scorer = opts.scorer ?? modelScorer(model, { llamaArithmetic: !lmEval });
  const llamaTok = tokenizer(model, true);
  const plainTok = tokenizer(model, false);
  const bos = model.bosToken;
  const lines: string[] = lmEval ? [] : llamaHeader(format);
  const records: TaskRecord[] = [];
  let correct = 0;
  let totalChoices = 0;
  let truncatedRequests = 0;
  let interrupted = false;
  for (const [i, task] of tasks.entries()) {
    if (opts.signal?.aborted) {
      interrupted = true;
      break;
    }
    const n = i + 1;
    let o: TaskOutcome;
    if (lmEval) {
      const c: LmEvalTaskContext = {
        scorer,
        tokenize: plainTok,
        maxLength: opts.ctx,
        bos: opts.bos ? bos : undefined,
        prefixToken: bos,
        number: n,
        file,
      };
      o = await scoreLmEval(c, task, task.where);
    } else {
      const c: LlamaTaskContext = { scorer, tokenize: llamaTok, ctx: opts.ctx, number: n, file };
      o =
        task.kind === 'blank'
          ? await scoreLlamaWinogrande(c, task)
          : await scoreLlamaContinuation(c, task, format === 'hellaswag' ? 'double' : 'float');
    }
    if (o.correct) correct++;
    totalChoices += o.choices.length;
    truncatedRequests += o.truncatedRequests ?? 0;
    const rec = record(task, n, o);
    records.push(rec);
    const line = lmEval
      ? []
      : [
          llamaTaskLine(
            format,
            { done: n, correct },
            { scores: o.choices.map((c) => c.score), winner: o.winner, answer: task.gold[0] ?? -1 },
          ),
        ];
    lines.push(...line);
    opts.onTask?.(rec, line, n, tasks.length);
  }
  const done = records.length;
  if (done === 0) throw new XentError('interrupted', 'tasks', 'interrupted before the first task was scored');
  const closing = lmEval
    ? []
    : llamaFinalLines(format, { done, correct }, totalChoices, loaded.selection === 'random subset, seed 1');
  lines.push(...closing);
  const normalization: TasksNormalization = lmEval
    ? tasks[0]!.kind === 'continuation'
      ? 'per_char'
      : 'none'
    : 'per_token';
  const out: TasksRun = {
    format,
    protocol: lmEval ? 'lm-eval' : 'llama.cpp',
    normalization,
    accuracy: correct / done,
    accuracy_pm: accuracyPm(correct, done) ?? null,
    accuracy_ci95: wilson95(correct, done),
    correct,
    tasks: done,
    tasks_read: loaded.tasksRead,
    lines_dropped: loaded.dropped.length,
    dropped: loaded.dropped,
    selection: loaded.selection,
    random_chance: done / totalChoices,
    ctx: opts.ctx,
    records,
    lines,
  };
  if (lmEval) {
    const acc = lmEvalMean(records.map((r) => r.acc!));
    const accNorm = lmEvalMean(records.map((r) => r.acc_norm!));
    out.acc = acc.mean;
    out.acc_stderr = acc.stderr ?? null;
    out.acc_norm = accNorm.mean;
    out.acc_norm_stderr = accNorm.stderr ?? null;
    out.truncated_tokens = records.reduce((a, r) => a + (r.truncated_tokens ?? 0), 0);
    out.truncated_requests = truncatedRequests;
    // lm-eval's stderr of the headline metric (the same quantity as sqrt(p(1 − p)/(n − 1)), its own arithmetic).
    out.accuracy_pm = (normalization === 'per_char' ? out.acc_norm_stderr : out.acc_stderr) ?? null;
  }
  if (interrupted) out.interrupted = true;
  return out;
}
