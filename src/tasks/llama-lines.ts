/**
 * The lines llama-perplexity prints on stdout for each task format, character for
 * character (tools/perplexity/perplexity.cpp; printf formats in the comments), so that
 * xent's output can be compared with its log line by line.
 */
import { cFixed } from './printf.js';
import { mcPercent, wilson95, winograndePercent } from './stats.js';
import type { TaskFormat } from './task.js';

/** Printed before the first task. */
export function llamaHeader(format: TaskFormat): string[] {
  if (format === 'hellaswag') return ['', 'task\tacc_norm\t95% confidence interval'];
  if (format === 'mc') return ['', 'task\tacc_norm'];
  return [];
}

export interface RunningCount {
  /** Tasks scored so far, including this one. */
  done: number;
  correct: number;
}

/** The line printed after each task. `scores`, `winner`, `answer`: Winogrande's columns (0-based). */
export function llamaTaskLine(
  format: TaskFormat,
  r: RunningCount,
  task?: { scores: readonly number[]; winner: number; answer: number },
): string {
  if (format === 'hellaswag') {
    // "%zu\t%3.8lf%%\t[%3.4lf%%, %3.4lf%%]\n"
    const [a, b] = wilson95(r.correct, r.done);
    const freq = r.correct / r.done;
    return `${r.done}\t${cFixed(freq * 100.0, 8, 3)}%\t[${cFixed(a * 100.0, 4, 3)}%, ${cFixed(b * 100.0, 4, 3)}%]`;
  }
  if (format === 'winogrande' && task) {
    // "%zu\t%.4lf\t%10.6f  %10.6f  %d  %d\n"
    return `${r.done}\t${cFixed((100.0 * r.correct) / r.done, 4)}\t${cFixed(task.scores[0]!, 6, 10)}  ${cFixed(task.scores[1]!, 6, 10)}  ${task.winner + 1}  ${task.answer + 1}`;
  }
  // "%d\t%.8lf\n"
  return `${r.done}\t${cFixed((100 * r.correct) / r.done, 8)}`;
}

/**
 * The closing lines. Winogrande prints its score from 100 tasks on; multiple choice prints
 * its result unless a random subset of fewer than 100 tasks was scored.
 */
export function llamaFinalLines(format: TaskFormat, r: RunningCount, totalChoices: number, subset: boolean): string[] {
  if (format === 'hellaswag') return [''];
  if (format === 'winogrande') {
    if (r.done < 100) return [''];
    const { pct, pm } = winograndePercent(r.correct, r.done);
    return ['', `Final Winogrande score(${r.done} tasks): ${cFixed(pct, 4)} +/- ${cFixed(pm, 4)}`];
  }
  if (r.done < 100 && subset) return [];
  const res = mcPercent(r.correct, r.done, r.done);
  const chance = mcPercent(r.done, totalChoices, r.done);
  return [
    '',
    `Final result: ${cFixed(res.pct, 4)} +/- ${cFixed(res.pm, 4)}`,
    `Random chance: ${cFixed(chance.pct, 4)} +/- ${cFixed(chance.pm, 4)}`,
    '',
  ];
}
