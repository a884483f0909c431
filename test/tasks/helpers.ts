/**
 * Shared pieces of the `xent tasks` tests: the files under ../shared they need, a skip that
 * refuses to skip under CI=true, and llama-perplexity's logs parsed into their lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { sharedPath } from '../helpers/shared.js';

export const MODELS = ['stories260K', 'llama-2-tiny-random'] as const;
export type SharedModel = (typeof MODELS)[number];

export const modelPath = (m: SharedModel): string | undefined => sharedPath('models', `${m}.gguf`);
export const taskPath = (name: string): string | undefined => sharedPath('data', 'tasks', name);

/**
 * `false` when every path exists, else the reason to skip. Under CI=true a missing input is
 * an error, never a silent skip.
 */
export function needs(...paths: Array<string | undefined>): false | string {
  if (paths.every((p) => p !== undefined && existsSync(p))) return false;
  const reason = 'needs ../shared (models, data/tasks, reference/tasks), absent here';
  if (process.env.CI === 'true') throw new Error(`${reason}; under CI=true this test must run`);
  return reason;
}

/** A log of llama-perplexity with its timestamps and level letters removed. */
export interface LlamaLog {
  lines: string[];
  /** The per-task lines (`N\t…`), in order. */
  taskLines: string[];
  /** "loaded N tasks from prompt" (HellaSwag, Winogrande) or "there are N tasks in prompt" (multiple choice). */
  tasksRead: number;
  /** The lines from "Final …" and "Random chance: …". */
  finals: string[];
}

export function readLlamaLog(model: SharedModel, task: string): LlamaLog | undefined {
  const p = sharedPath('reference', 'tasks', `${model}-${task}.log`);
  if (!p) return undefined;
  const lines = readFileSync(p, 'utf8')
    .split('\n')
    .map((l) => l.replace(/^\d+\.\d+\.\d+\.\d+ [IWE] /, ''));
  const read = lines
    .map((l) => /(?:loaded (\d+) tasks from prompt|there are (\d+) tasks in prompt)/.exec(l))
    .find(Boolean);
  if (!read) throw new Error(`${p}: no "loaded N tasks" line`);
  return {
    lines,
    taskLines: lines.filter((l) => /^\d+\t/.test(l)),
    tasksRead: Number(read[1] ?? read[2]),
    finals: lines.filter((l) => /^(Final |Random chance: )/.test(l)),
  };
}

/** The files and options of each log (../shared/reference/README.md). */
export const LOG_RUNS: ReadonlyArray<{ log: string; file: string; take?: number }> = [
  { log: 'hellaswag', file: 'hellaswag.txt' },
  { log: 'hellaswag100', file: 'hellaswag.txt', take: 100 },
  { log: 'winogrande', file: 'winogrande.csv' },
  { log: 'mc', file: 'mc.bin' },
];
