/**
 * `xent distill --teacher <model.gguf|model-dir> --data corpus.txt --student lstm … --out dir`:
 * trains an LSTM student on the teacher's tokenizer with distillationLoss
 * (α·T²·KL(teacher ‖ student at temperature T) + (1 − α)·CE), e.g. a student of
 * stories260K on TinyStories. The student directory scores with `xent eval --model`.
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

interface DistillCliOptions extends LstmCliOptions {
  teacher: string;
  student: string;
  temperature: string;
  alpha: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('distill')
    .description(
      'train an LSTM student from a teacher model (GGUF or xent-trained) with the same tokenizer, by distillation',
    )
    .requiredOption('--teacher <model>', 'a .gguf file or a model directory trained by xent')
    .option('--student <arch>', 'student architecture (lstm)', 'lstm');
  addDataOptions(cmd, 'UTF-8 training text (default: the Brown corpus train split)')
    .option('--temperature <T>', 'softmax temperature of the soft term', '2')
    .option('--alpha <a>', 'weight of the soft (teacher) term; 1 − alpha weighs the hard-label cross-entropy', '0.5');
  addLstmOptions(cmd, {
    batch: '16',
    threads: 'threads of the student kernels (the teacher runs on one)',
    out: 'student model directory to write',
  }).action(async (o: DistillCliOptions) => {
    await runDistillCli(o);
  });
}

async function runDistillCli(o: DistillCliOptions): Promise<void> {
  const op = 'distill';
  if (o.student !== 'lstm')
    throw new XentError('invalid_argument', op, `--student must be lstm, got ${JSON.stringify(o.student)}`, {
      arg: '--student',
      value: o.student,
    });
  const n = (flag: string, v: string): number => numberOption(op, flag, v)!;
  const [{ runDistill }, { Progress }] = await Promise.all([
    import('../train/distill-run.js'),
    import('./progress.js'),
  ]);
  const { trainText, valText, dataLabel } = await readTrainingTexts(op, o);
  const { signal, release } = interruptible(op);
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
      ...lstmRunOptions(op, o),
      temperature: n('--temperature', o.temperature),
      alpha: n('--alpha', o.alpha),
      signal,
      onNote: log,
      onStep: (i, perStep) => {
        progress ??= new Progress({
          total: (i.steps - i.startStep) * perStep,
          label: 'distill',
          unit: 'tok',
          silent: quiet,
        });
        progress.update(i.tokensThisRun, `step ${i.step}/${i.steps} CE ${(i.ceNats / Math.LN2).toFixed(3)} bits/token`);
      },
      onEval: (p, best) => {
        progress?.finish();
        log(validationLine(p, best));
      },
    });
  } finally {
    progress?.finish();
    release();
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
    writeReport(o.report, [{ kind: 'train', curves: result.curves, source: `${o.out}/curves.json` }], {
      title: `xent distill: student of ${o.teacher}`,
      command: `xent ${process.argv.slice(2).join(' ')}`,
    });
  }
  if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    process.stdout.write(
      `${[
        `student LSTM of ${o.teacher} (V = ${out.vocab_size}, T = ${out.temperature}, alpha = ${out.alpha}) on ${dataLabel}: best validation ${out.val_nats_per_token.toFixed(4)} nats/token = ${out.val_bits_per_token.toFixed(4)} bits/token` +
          (out.val_bits_per_byte !== null ? `; ${out.val_bits_per_byte.toFixed(4)} bits/byte` : '') +
          ` at step ${out.best_step}`,
        `${out.steps} steps (${result.stopped === 'early_stopping' ? 'stopped early' : result.stopped === 'interrupted' ? 'interrupted: rerun with --resume' : 'done'}), ${out.tokens_per_second.toFixed(0)} training tokens/s (teacher included)`,
        `model: ${o.out} (xent eval --model ${o.out} --data <text>)`,
      ].join('\n')}\n`,
    );
  }
  if (result.stopped === 'interrupted') process.exitCode = 130;
}
