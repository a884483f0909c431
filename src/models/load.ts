/**
 * `loadModel(spec)`: one entry point for every scored model.
 *   - a .gguf file (or any file starting with the GGUF magic) → the GGUF adapter (gguf/gguf-model.ts)
 *   - a directory → a model trained by xent (src/models/trained.ts, `loadTrainedModel`)
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { XentError } from '../core/errors.js';
import { type GgufLoadOptions, loadGgufModel } from './gguf/gguf-model.js';
import type { LanguageModel } from './language-model.js';

export type LoadModelOptions = GgufLoadOptions;

function startsWithGguf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === 'GGUF';
  } finally {
    closeSync(fd);
  }
}

export async function loadModel(spec: string, opts: LoadModelOptions = {}): Promise<LanguageModel> {
  const op = 'loadModel';
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(spec);
  } catch {
    throw new XentError(
      'invalid_file',
      op,
      `model ${spec} does not exist (expected a .gguf file or a directory of a model trained by xent)`,
      { file: spec, arg: '--model' },
    );
  }
  if (st.isDirectory()) {
    // Resolved at run time so this file builds before (and without) the trained-model loader.
    const url = new URL('./trained.js', import.meta.url).href;
    const mod = (await import(url).catch(() => undefined)) as
      | { loadTrainedModel?: (dir: string, o?: unknown) => Promise<LanguageModel> }
      | undefined;
    if (!mod?.loadTrainedModel) {
      throw new XentError(
        'missing_dependency',
        op,
        `${spec} is a directory, but this build of xent has no loader for trained models (src/models/trained.ts)`,
        { file: spec },
      );
    }
    return mod.loadTrainedModel(spec, opts);
  }
  if (spec.toLowerCase().endsWith('.gguf') || startsWithGguf(spec)) return loadGgufModel(spec, opts);
  // Not GGUF by name or magic: let the GGUF reader explain what the file is not.
  return loadGgufModel(spec, opts);
}
