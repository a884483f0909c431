/**
 * Scores the tasks of a file with a model, in order, under the protocol of its format:
 * llama-perplexity's for HellaSwag, Winogrande CSV and multiple choice,
 * lm-evaluation-harness's for JSONL. Each task's record and llama.cpp's line for it go to
 * `onTask` as soon as it is scored (for streaming output); the summary comes at the end.
 *
 * llama.cpp's formats are scored in groups decoded together: tasks are added to a group while
 * their KV cells fit llama-perplexity's window (4 × ctx, rounded up to 256) and their
 * sequences (one per choice) `taskSequences(format)`: llama-perplexity's own batches for
 * HellaSwag and multiple choice (one task at a time), four Winogrande tasks per decode where
 * llama-perplexity decodes two. JSONL tasks are scored one at a time.
 */
import { XentError } from '../core/errors.js';
import type { LanguageModel } from '../models/language-model.js';
import type { LoadModelOptions } from '../models/load.js';
import type { TaskRecord, TasksFigures, TasksNormalization } from '../results/tasks.js';
import { llamaFinalLines, llamaHeader, llamaTaskLine } from './llama-lines.js';
import {
  type LlamaTaskContext,
  llamaTaskWindow,
  prepareLlamaContinuation,
  prepareLlamaWinogrande,
} from './llama-protocol.js';
import { type LmEvalTaskContext, prepareLmEval } from './lmeval-protocol.js';
import type { LoadedTasks } from './load-tasks.js';
import { marginOf, type PreparedTask, type TaskOutcome } from './outcome.js';
import { type LogProbScorer, modelScorer, type ScoredRequest } from './scorer.js';
import { accuracyPm, lmEvalMean, wilson95 } from './stats.js';
import { choiceTexts, type Task, type TaskFormat, taskText } from './task.js';
import { tokenizer } from './tokens.js';

/** Most sequences per decode: what `llama-perplexity -np 8` packs. */
const MAX_SEQUENCES = 8;

/**
 * Sequences per decode for a file of `format`. HellaSwag and multiple choice: llama-perplexity's
 * default 4 (its n_parallel, max(4, -np)): one task per decode, its own batches (8 gave the same
 * per-task lines and no measurable gain). Winogrande (two sequences per task): 8, four tasks per
 * decode inside the KV window of llama-perplexity's default. A decode of four tasks costs what
 * two of two cost (timed in the binding), but half as many calls halve the JavaScript per call
 * and the waits between decodes: winogrande.csv 1.43 → 1.27 s with stories260K and 1.78 → 1.66 s
 * with llama-2-tiny-random (medians of 5 and 3 whole runs); 16 gained nothing more. Its score
 * columns differ from llama.cpp's in the last printed digits with either packing, its accuracy
 * never (test/tasks/reference-suite.ts).
 */
export function taskSequences(format: TaskFormat): number {
  return format === 'winogrande' ? MAX_SEQUENCES : 4;
}

/**
 * How `xent tasks` loads a GGUF model for `runTasks` at `ctx`: contexts for packed requests
 * (`contexts`, default 'auto': two for a small model, `autoContexts` in
 * src/models/gguf/gguf-lane.ts), each with room for the most sequences `taskSequences` gives
 * in llama-perplexity's KV window (4 × ctx cells: its memory), made at load so that the first
 * decode does not replace them.
 */
export function taskModelOptions(
  ctx: number,
  contexts: number | 'auto' = 'auto',
): Pick<LoadModelOptions, 'layout' | 'sequences' | 'kvCells' | 'contexts'> {
  return { layout: 'requests', sequences: MAX_SEQUENCES, kvCells: llamaTaskWindow(ctx), contexts };
}

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
  const prepare = (i: number): Promise<PreparedTask> => {
    const task = tasks[i]!;
    const n = i + 1;
    if (lmEval) {
      const c: LmEvalTaskContext = {
        tokenize: plainTok,
        maxLength: opts.ctx,
        bos: opts.bos ? bos : undefined,
        prefixToken: bos,
        number: n,
        file,
      };
      return prepareLmEval(c, task, task.where);
    }
    const c: LlamaTaskContext = { tokenize: llamaTok, ctx: opts.ctx, number: n, file };
    return task.kind === 'blank'
      ? prepareLlamaWinogrande(c, task)
      : prepareLlamaContinuation(c, task, format === 'hellaswag' ? 'double' : 'float');
  };
  const window = lmEval ? 0 : llamaTaskWindow(opts.ctx);
  const maxSequences = taskSequences(format);
  // A task prepared ahead that did not join the group: it starts the next one. Its error (a
  // task too long for the window) is thrown only when it is next, after the tasks before it
  // are scored and printed, as llama-perplexity reports it.
  let ahead: { i: number; p: Promise<PreparedTask> } | undefined;
  let next = 0;
  const formGroup = async (): Promise<PreparedTask[]> => {
    const group: PreparedTask[] = [await (ahead?.i === next ? ahead.p : prepare(next))];
    ahead = undefined;
    let cells = group[0]!.cells;
    let seqs = group[0]!.sequences;
    while (!lmEval && next + group.length < tasks.length) {
      const k = next + group.length;
      const p = prepare(k);
      const more = await p.catch(() => undefined);
      if (!more || cells + more.cells > window || seqs + more.sequences > maxSequences) {
        ahead = { i: k, p };
        break;
      }
      group.push(more);
      cells += more.cells;
      seqs += more.sequences;
    }
    next += group.length;
    return group;
  };
  // Groups in flight: with a model that takes overlapping calls, the next group is tokenised
  // and its decodes queued while the engine works on this one, so that the engine never
  // waits for JavaScript (llama-perplexity tokenises every task before its first decode):
  // two per context (stories260K's winogrande.csv on two contexts: 1.02 s with three in
  // flight, 0.96 s with four; six gained nothing more on hellaswag.txt).
  const depth = scorer.pipelined ? 2 * (scorer.concurrency ?? 1) : 1;
  const inflight: { group: PreparedTask[]; scored: Promise<ScoredRequest[]> }[] = [];
  let failed: { error: unknown } | undefined;
  let i = 0;
  for (;;) {
    while (!failed && inflight.length < depth && next < tasks.length && !opts.signal?.aborted) {
      let group: PreparedTask[];
      try {
        group = await formGroup();
      } catch (error) {
        failed = { error };
        break;
      }
      // Each task's first request starts a new shared prefix.
      const requests = group.flatMap((g) => g.requests.map((r, j) => (j === 0 ? { ...r, prefix: 0 } : r)));
      const scored = scorer.score(requests);
      // Awaited in order below; until then a rejection must not count as unhandled.
      scored.catch(() => undefined);
      inflight.push({ group, scored });
    }
    const head = inflight.shift();
    if (!head) {
      if (failed) throw failed.error;
      if (opts.signal?.aborted && i < tasks.length) interrupted = true;
      break;
    }
    const scored = await head.scored;
    let at = 0;
    for (const g of head.group) {
      const o: TaskOutcome = g.finish(scored.slice(at, at + g.requests.length));
      at += g.requests.length;
      const task = tasks[i]!;
      const n = ++i;
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
