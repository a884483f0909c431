/**
 * `npm run bench -- tasks [--threads 2] [--rounds 3] [--ctx 512] [--model S] [--file S] [--tasks N] [--build-llama-perplexity]`
 *
 * Wall time of `xent tasks` beside llama.cpp's llama-perplexity on the shared task files
 * (../shared/data/tasks: hellaswag.txt with --hellaswag, winogrande.csv with --winogrande,
 * mc.bin with --multiple-choice -bf) for both shared GGUF models (stories260K, V = 512;
 * llama-2-tiny-random, V = 32000), same -c, -b = -c and threads, flash attention at both
 * tools' default (llama-perplexity's -fa auto, which is on for these models on the CPU;
 * xent's default is the same). Rounds alternate xent and llama-perplexity, so load that
 * drifts during a run hits both; the table gives the medians and xent / llama (lower is
 * better for xent) per file, and each tool's accuracy line, which must agree.
 *
 * Times are whole processes (start, model load, reading and tokenising the tasks, scoring).
 * Each round also runs both tools on one task of the file: that time is mostly the process's
 * start-up (Node and xent's modules, the binding, the model and its context; llama-perplexity's
 * start), printed beside the whole runs, with the ratio of the times after start-up
 * ((whole − one task) of xent over that of llama-perplexity) — the scoring alone. A last line
 * gives Node's own start and exit (`node -e 0`), the part of every xent time no xent code runs in.
 *
 * llama-perplexity: $LLAMA_PERPLEXITY; else build/llama.cpp/build/bin/llama-perplexity, which
 * --build-llama-perplexity builds natively from node-llama-cpp's bundled llama.cpp
 * (bench/lib/llama.ts); else /work/llama.cpp/build/bin/llama-perplexity or
 * ../llama.cpp/build/bin/llama-perplexity (the same llama.cpp, built natively).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median } from '../src/core/stats.js';
import { llamaPerplexity } from './lib/llama.js';
import { REPO_ROOT, sharedPath } from './lib/shared.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const threads = opt('--threads', '2');
const rounds = Number(opt('--rounds', '3'));
const ctx = opt('--ctx', '512');
const modelFilter = opt('--model', '');
const fileFilter = opt('--file', '');
const take = opt('--tasks', '');
const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

const llama = [
  llamaPerplexity(args),
  '/work/llama.cpp/build/bin/llama-perplexity',
  join(REPO_ROOT, '..', 'llama.cpp', 'build', 'bin', 'llama-perplexity'),
].find((p): p is string => p !== undefined && existsSync(p));
if (!llama) {
  console.error('bench tasks: no llama-perplexity (set LLAMA_PERPLEXITY, or pass --build-llama-perplexity)');
  process.exit(2);
}

interface TaskFile {
  file: string;
  /** llama-perplexity's arguments for the file, with the task count when a subset is asked for. */
  llamaArgs: (path: string, tasks: string) => string[];
}

const FILES: TaskFile[] = [
  {
    file: 'hellaswag.txt',
    llamaArgs: (p, n) => ['--hellaswag', '--hellaswag-tasks', n || '400', '-f', p],
  },
  {
    file: 'winogrande.csv',
    llamaArgs: (p, n) => ['--winogrande', ...(n ? ['--winogrande-tasks', n] : []), '-f', p],
  },
  {
    file: 'mc.bin',
    llamaArgs: (p, n) => ['--multiple-choice', ...(n ? ['--multiple-choice-tasks', n] : []), '-bf', p],
  },
];

const models = ['stories260K.gguf', 'llama-2-tiny-random.gguf'].filter((m) => m.includes(modelFilter));
const files = FILES.filter((f) => f.file.includes(fileFilter));
const paths = [...models.map((m) => sharedPath('models', m)), ...files.map((f) => sharedPath('data', 'tasks', f.file))];
if (paths.some((p) => p === undefined)) {
  console.error('bench tasks: needs ../shared/models and ../shared/data/tasks');
  process.exit(2);
}
if (!existsSync(CLI)) {
  console.error('bench tasks: needs the built CLI (npm run build)');
  process.exit(2);
}

interface Run {
  seconds: number;
  /** The accuracy as each tool prints it last (llama.cpp's final line or last running figure). */
  accuracy: string;
}

/** llama.cpp's figure from its lines: the final line where there is one, else the last task line's running accuracy. */
function accuracyOf(lines: string[]): string {
  const final = lines.find((l) => /^(Final Winogrande score|Final result: )/.test(l));
  if (final) return final.replace(/^Final (Winogrande score\(\d+ tasks\)|result): /, '');
  const last = lines.filter((l) => /^\d+\t/.test(l)).at(-1);
  return last?.split('\t')[1] ?? '?';
}

function timeXent(model: string, data: string, tasks = take): Run {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'tasks',
      '--model',
      model,
      '--data',
      data,
      '--ctx',
      ctx,
      '--threads',
      threads,
      ...(tasks ? ['--tasks', tasks] : []),
    ],
    { encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 26 },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`xent tasks failed: ${r.stderr}`);
  return { seconds, accuracy: accuracyOf(r.stdout.split('\n')) };
}

function timeLlama(model: string, data: string, f: TaskFile, tasks = take): Run {
  const t0 = performance.now();
  const r = spawnSync(
    resolve(llama!),
    ['-m', model, '-c', ctx, '-b', ctx, '-t', threads, ...f.llamaArgs(data, tasks)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`llama-perplexity failed: ${(r.stderr || '').split('\n').slice(-5).join('\n')}`);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.replace(/^\d+\.\d+\.\d+\.\d+ [IWE] /, ''));
  return { seconds, accuracy: accuracyOf(lines) };
}

console.log(
  `xent tasks benchmark: -c ${ctx}, ${threads} threads, ${take ? `${take} tasks` : 'every task'} per file, medians of ${rounds} alternating rounds, whole-process seconds`,
);
console.log(`llama-perplexity: ${llama}`);
console.log(
  [
    'model',
    'file',
    'xent s',
    'llama s',
    'xent / llama',
    'one task: xent s',
    'llama s',
    'after start-up: xent / llama',
    'xent accuracy',
    'llama accuracy',
    'rounds (xent | llama)',
  ].join(' | '),
);
const nodeAlone: number[] = [];
for (const m of models) {
  const model = sharedPath('models', m)!;
  for (const f of files) {
    const data = sharedPath('data', 'tasks', f.file)!;
    const xs: Run[] = [];
    const ls: Run[] = [];
    const x1: number[] = [];
    const l1: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which tool goes first, so neither always runs on a warmer machine.
      if (i % 2 === 0) {
        xs.push(timeXent(model, data));
        ls.push(timeLlama(model, data, f));
        x1.push(timeXent(model, data, '1').seconds);
        l1.push(timeLlama(model, data, f, '1').seconds);
      } else {
        l1.push(timeLlama(model, data, f, '1').seconds);
        x1.push(timeXent(model, data, '1').seconds);
        ls.push(timeLlama(model, data, f));
        xs.push(timeXent(model, data));
      }
    }
    // Node's own start and exit, the floor under every xent run (environment as given).
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      nodeAlone.push((performance.now() - t0) / 1000);
    }
    const x = median(xs.map((r) => r.seconds));
    const l = median(ls.map((r) => r.seconds));
    const xStart = median(x1);
    const lStart = median(l1);
    console.log(
      [
        m.replace('.gguf', ''),
        f.file,
        x.toFixed(2),
        l.toFixed(2),
        (x / l).toFixed(2),
        xStart.toFixed(2),
        lStart.toFixed(2),
        ((x - xStart) / (l - lStart)).toFixed(2),
        xs[0]!.accuracy,
        ls[0]!.accuracy,
        `${xs.map((r) => r.seconds.toFixed(1)).join(' ')} | ${ls.map((r) => r.seconds.toFixed(1)).join(' ')}`,
      ].join(' | '),
    );
  }
}
console.log(
  `node -e 0 (Node's start and exit alone, in each xent time above): ${median(nodeAlone).toFixed(2)} s, median of ${nodeAlone.length}${process.env.NODE_EXTRA_CA_CERTS ? ' (NODE_EXTRA_CA_CERTS is set: Node reads those certificates at every start)' : ''}`,
);
