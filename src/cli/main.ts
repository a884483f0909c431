#!/usr/bin/env node
/**
 * The `xent` command line. Each command lives in its own file and exports
 * `register(program)`; a run of one command imports that file alone, and heavy modules
 * are imported inside the command's action, so that every command starts fast.
 */
import { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { enableRelaxedSimd } from '../kernels/relaxed-simd.js';

type Registrar = () => Promise<{ register(program: Command): void }>;

// Command registry, in the order `xent --help` lists them: one line per command file
// (`bench lce` adds itself to `bench`, so it comes with it).
const COMMANDS: ReadonlyArray<readonly [string, Registrar[]]> = [
  ['demo', [() => import('./demo.js')]],
  ['bench', [() => import('./bench.js'), () => import('./bench-lce.js')]],
  ['score', [() => import('./score.js')]],
  ['eval', [() => import('./eval.js')]],
  ['report', [() => import('./report.js')]],
  ['serve', [() => import('./serve.js')]],
  ['kld', [() => import('./kld.js')]],
  ['compare', [() => import('./compare.js')]],
  ['train', [() => import('./train.js')]],
  ['distill', [() => import('./distill.js')]],
  ['tasks', [() => import('./tasks.js')]],
  ['doctor', [() => import('./doctor.js')]],
];

enableRelaxedSimd(); // before any WebAssembly is compiled: Node 20 needs the flag for the FMA kernels
const program = new Command();
program
  .name('xent')
  .description('Exact, fast and visible cross-entropy: losses, kernels, model evaluation, training and reports.')
  .version(VERSION)
  .showHelpAfterError();

// A run of one command loads that command's file only (every file imported is start-up time,
// ~35 ms for all of them); help, --version and anything that is not a command name load them
// all, so that the listing and commander's suggestions are complete.
const named = COMMANDS.find(([name]) => name === process.argv[2]);
try {
  for (const [, files] of named ? [named] : COMMANDS)
    for (const mod of await Promise.all(files.map((f) => f()))) mod.register(program);
} catch (e) {
  fail(e);
}

function fail(e: unknown): never {
  if (e instanceof XentError) {
    process.stderr.write(`xent: ${e.message}\n`);
    if (process.env.XENT_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
    process.exit(2);
  }
  const err = e as { code?: string; message?: string; stack?: string };
  if (typeof err?.code === 'string' && err.code.startsWith('commander.')) process.exit(2);
  process.stderr.write(
    `xent: internal error: ${err?.message ?? String(e)}\n${process.env.XENT_DEBUG ? (err?.stack ?? '') : 'Set XENT_DEBUG=1 for the stack trace.'}\n`,
  );
  process.exit(1);
}

program.parseAsync(process.argv).catch(fail);
