/**
 * The tasks of a log-likelihood benchmark, as read from a file, before tokenisation.
 *
 * Two shapes cover every format:
 *  - `continuation`: one context, several candidate continuations (HellaSwag, the
 *    multiple-choice binary, JSONL `{"context", "choices", "gold"}`); each choice is scored
 *    as the text that follows the context.
 *  - `blank`: a sentence with a blank `_` and candidate fillers (Winogrande, in llama.cpp's
 *    CSV or lm-evaluation-harness's JSONL `{"sentence", "option1", "option2", "answer"}`);
 *    each option fills the blank and the words after it are scored.
 */

/** The task file formats `xent tasks` reads. */
export type TaskFormat = 'hellaswag' | 'winogrande' | 'mc' | 'jsonl';

export const TASK_FORMATS: readonly TaskFormat[] = ['hellaswag', 'winogrande', 'mc', 'jsonl'];

interface TaskBase {
  /** 0-based index of the task in the file (among the tasks the reader kept). */
  index: number;
  /** Where the task starts in the file, for messages: "line 13" or "byte 1604". */
  where: string;
  /** Indices of the right choices (one for HellaSwag, Winogrande and JSONL; llama.cpp's multiple choice may label several, or none). */
  gold: number[];
}

export interface ContinuationTask extends TaskBase {
  kind: 'continuation';
  context: string;
  choices: string[];
}

export interface BlankTask extends TaskBase {
  kind: 'blank';
  /** The sentence before the blank (without the `_`). */
  first: string;
  /** The sentence after the blank. */
  second: string;
  /** The candidate fillers of the blank. */
  options: string[];
}

export type Task = ContinuationTask | BlankTask;

/** A line (or record) a reader skipped, as llama.cpp's Winogrande reader does. */
export interface DroppedLine {
  line: number;
  reason: string;
}

/** What a reader returns. */
export interface TaskFile {
  format: TaskFormat;
  tasks: Task[];
  /** Lines the format's reader skips (llama.cpp's Winogrande CSV reader); empty elsewhere. */
  dropped: DroppedLine[];
  /**
   * The multiple-choice binary only: the byte offset of each task (its offsets table), used
   * when a random subset is read, as llama.cpp seeks to them.
   */
  offsets?: number[];
}

/** The text shown for a task in per-task output: the context, or the sentence with its blank. */
export function taskText(t: Task): string {
  return t.kind === 'continuation' ? t.context : `${t.first}_${t.second}`;
}

/** The choices' texts as shown in per-task output. */
export function choiceTexts(t: Task): string[] {
  return t.kind === 'continuation' ? t.choices : t.options;
}
