#!/usr/bin/env node
/**
 * The `xent` command line. Each command lives in its own file and exports
 * `register(program)`; heavy modules are imported inside the command's action so
 * that `xent --help` and the light commands start fast.
 */
import { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { enableRelaxedSimd } from '../kernels/relaxed-simd.js';
import { register as registerBench } from './bench.js';
import { register as registerBenchLce } from './bench-lce.js';
import { register as registerCompare } from './compare.js';
import { register as registerDemo } from './demo.js';
import { register as registerDistill } from './distill.js';
import { register as registerDoctor } from './doctor.js';
import { register as registerEval } from './eval.js';
import { register as registerKld } from './kld.js';
import { register as registerReport } from './report.js';
import { register as registerScore } from './score.js';
import { register as registerServe } from './serve.js';
import { register as registerTasks } from './tasks.js';
import { register as registerTrain } from './train.js';

enableRelaxedSimd(); // before any WebAssembly is compiled: Node 20 needs the flag for the FMA kernels
const program = new Command();
program
  .name('xent')
  .description('Exact, fast and visible cross-entropy: losses, kernels, model evaluation, training and reports.')
  .version(VERSION)
  .showHelpAfterError();

// Command registry: one line per command file.
registerDemo(program);
registerBench(program);
registerBenchLce(program);
registerScore(program);
registerEval(program);
registerReport(program);
registerServe(program);
registerKld(program);
registerCompare(program);
registerTrain(program);
registerDistill(program);
registerTasks(program);
registerDoctor(program);

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
