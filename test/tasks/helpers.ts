/**
 * Shared pieces of the `xent tasks` tests: the files under ../shared they need (declared
 * through test/helpers/requires.ts, so that under CI a missing one fails), llama-perplexity's
 * logs in ../shared/reference/tasks and the fixtures in test/tasks/data parsed into their lines.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_DIR } from '../helpers/shared.js';

export const MODELS = ['stories260K', 'llama-2-tiny-random'] as const;
export type SharedModel = (typeof MODELS)[number];

/** Paths under ../shared, as `requires({ shared })` takes them. */
export const modelFile = (m: SharedModel): string => `models/${m}.gguf`;
export const taskFile = (name: string): string => `data/tasks/${name}`;
export const logFile = (m: SharedModel, task: string): string => `reference/tasks/${m}-${task}.log`;

/** Absolute paths of the same files (whether or not they exist: the test's `requires` decides). */
export const modelPath = (m: SharedModel): string => join(SHARED_DIR, modelFile(m));
export const taskPath = (name: string): string => join(SHARED_DIR, taskFile(name));

/** This folder's data/ (committed fixtures: test/tasks/data/README.md). */
export const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'data');

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

function parseLog(p: string): LlamaLog {
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

/** ../shared/reference/tasks/<model>-<task>.log (the figures of ../shared/reference/README.md). */
export function readLlamaLog(model: SharedModel, task: string): LlamaLog {
  return parseLog(join(SHARED_DIR, logFile(model, task)));
}

/** A llama-perplexity log committed under test/tasks/data (scripts/tasks-fixtures.mjs). */
export function readFixtureLog(name: string): LlamaLog {
  return parseLog(join(DATA_DIR, name));
}

/** The files and options of each log (../shared/reference/README.md). */
export const LOG_RUNS: ReadonlyArray<{ log: string; file: string; take?: number }> = [
  { log: 'hellaswag', file: 'hellaswag.txt' },
  { log: 'hellaswag100', file: 'hellaswag.txt', take: 100 },
  { log: 'winogrande', file: 'winogrande.csv' },
  { log: 'mc', file: 'mc.bin' },
];
