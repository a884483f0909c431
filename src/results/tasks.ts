/**
 * What `xent tasks` produces: the summary (`--json`) and one record per task (`--out`,
 * JSONL), with validators for `report` and for files read back.
 *
 * Units: log-probabilities are natural logs (nats); `score` is the value a task's choices
 * are ranked by, in the unit `normalization` names; accuracies and their intervals are
 * fractions in [0, 1].
 */
import { XentError } from '../core/errors.js';

/**
 * How choices are ranked:
 *  - `per_token`: mean log-probability of the scored tokens, nats per token (llama.cpp);
 *  - `per_char`: summed log-probability / the choice's length in characters, nats per
 *    character (lm-evaluation-harness's acc_norm);
 *  - `none`: summed log-probability, nats (lm-evaluation-harness's acc).
 */
export type TasksNormalization = 'per_token' | 'per_char' | 'none';

export interface TaskChoiceRecord {
  text: string;
  /** Sum of the scored tokens' log-probabilities, nats. */
  logprob_nats: number;
  /** Tokens scored. */
  tokens: number;
  /** Characters (Unicode code points) that normalise acc_norm: the choice's, or for lm-eval's Winogrande its context's. */
  chars: number;
  /** The ranked value, in the result's `normalization`. */
  score: number;
}

/** One line of `xent tasks --out`. */
export interface TaskRecord {
  /** 1-based position in the scoring order (llama.cpp's `task` column). */
  task: number;
  /** 0-based index of the task among those read from the file. */
  index: number;
  /** Where the task is in the file: "line 13" or "byte 1604". */
  where: string;
  /** The context, or the sentence with its blank `_`. */
  context: string;
  choices: TaskChoiceRecord[];
  /** 0-based indices of the right choices. */
  gold: number[];
  /** 0-based index of the choice ranked first. */
  winner: number;
  correct: boolean;
  /** Best right choice's score − best wrong choice's score (> 0: a right choice leads); null without both. */
  margin: number | null;
  /** lm-eval only: argmax of the sums and of the per-character values, and the two 0/1 scores. */
  pred?: number;
  pred_norm?: number;
  acc?: number;
  acc_norm?: number;
  /** lm-eval only: tokens cut from the left of this task's requests to fit max_length − 1. */
  truncated_tokens?: number;
}

/** The figures of a run, as computed (src/tasks/run-tasks.ts). */
export interface TasksFigures {
  /** 'hellaswag' | 'winogrande' | 'mc' (llama.cpp's formats) | 'jsonl'. */
  format: string;
  /** Whose semantics the figures follow: 'llama.cpp' or 'lm-eval'. */
  protocol: string;
  normalization: TasksNormalization;
  /** Right tasks / scored tasks. */
  accuracy: number;
  /** sqrt(p(1 − p)/(n − 1)) (llama.cpp's ± for Winogrande and multiple choice; equal to lm-eval's stderr). */
  accuracy_pm: number | null;
  /** Wilson score interval at 95% (llama.cpp's HellaSwag interval). */
  accuracy_ci95: [number, number];
  correct: number;
  /** Tasks scored. */
  tasks: number;
  /** Tasks read from the file (llama.cpp's "loaded N tasks"). */
  tasks_read: number;
  /** Lines the format's reader skipped (llama.cpp's Winogrande CSV reader), with why. */
  lines_dropped: number;
  dropped: Array<{ line: number; reason: string }>;
  selection: string;
  /** Scored tasks / all their choices (llama.cpp's multiple-choice "Random chance"). */
  random_chance: number;
  ctx: number;
  /** lm-eval's two metrics and their mean_stderr (JSONL). */
  acc?: number;
  acc_stderr?: number | null;
  acc_norm?: number;
  acc_norm_stderr?: number | null;
  /** JSONL: requests (task × choice) cut on the left to max_length − 1 tokens, and tokens cut. */
  truncated_requests?: number;
  truncated_tokens?: number;
  interrupted?: boolean;
}

/** `xent tasks --json`: the figures, the model and data they are about, and the run's time. */
export interface TasksResult extends TasksFigures {
  model: string;
  data: string;
  seconds: number;
  /** CPU threads the model computed with, and the llama.cpp contexts sharing them (GGUF). */
  threads?: number;
  contexts?: number;
  xent_version?: string;
  [extra: string]: unknown;
}

interface Origin {
  file: string;
  line?: number;
}

function bad(o: Origin, what: string): XentError {
  const at = o.line === undefined ? o.file : `${o.file} line ${o.line}`;
  return new XentError('invalid_file', 'report', `${at}: ${what}`, { file: o.file, line: o.line });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

export function validateTasksResult(v: unknown, o: Origin): TasksResult {
  if (!isObj(v)) throw bad(o, 'expected a tasks result (a JSON object)');
  for (const k of ['format', 'protocol', 'normalization', 'model', 'data'])
    if (typeof v[k] !== 'string') throw bad(o, `field "${k}" must be a string`);
  if (!isNum(v.accuracy) || v.accuracy < 0 || v.accuracy > 1) throw bad(o, 'field "accuracy" must be in [0, 1]');
  const ci = v.accuracy_ci95;
  if (!Array.isArray(ci) || ci.length !== 2 || !ci.every(isNum)) throw bad(o, 'field "accuracy_ci95" must be [lo, hi]');
  for (const k of ['correct', 'tasks', 'tasks_read']) if (!isCount(v[k])) throw bad(o, `field "${k}" must be a count`);
  if ((v.correct as number) > (v.tasks as number)) throw bad(o, '"correct" exceeds "tasks"');
  return v as TasksResult;
}

export function validateTaskRecord(v: unknown, o: Origin): TaskRecord {
  if (!isObj(v)) throw bad(o, 'expected a task record (a JSON object)');
  if (!isCount(v.task) || !isCount(v.index)) throw bad(o, 'fields "task" and "index" must be counts');
  if (typeof v.context !== 'string') throw bad(o, 'field "context" must be a string');
  if (!Array.isArray(v.choices) || v.choices.length === 0) throw bad(o, 'field "choices" must be a non-empty array');
  v.choices.forEach((c, i) => {
    if (!isObj(c) || typeof c.text !== 'string' || !isNum(c.logprob_nats) || !isNum(c.score))
      throw bad(o, `choice ${i} must have "text", "logprob_nats" and "score"`);
  });
  if (!isCount(v.winner) || (v.winner as number) >= v.choices.length)
    throw bad(o, 'field "winner" must index a choice');
  if (typeof v.correct !== 'boolean') throw bad(o, 'field "correct" must be a boolean');
  if (v.margin !== null && !isNum(v.margin)) throw bad(o, 'field "margin" must be a number or null');
  return v as unknown as TaskRecord;
}
