/**
 * `loadModel(spec)`: one entry point for every scored model.
 *   - http:// or https:// → a model behind an OpenAI-compatible endpoint (remote/), with or
 *     without the /v1 of OpenAI clients' base URL
 *   - a directory → a model trained by xent: model.json's kind picks the LSTM (lstm/) or
 *     the n-gram (ngram/)
 *   - a file → a GGUF model (gguf/); a file that is not GGUF is refused by the GGUF reader,
 *     which says what it found
 * A new model family is a folder beside these, added here.
 *
 * Each family's module is imported when a model of that family is loaded, so that a GGUF
 * run does not start the LSTM's WebAssembly kernels, nor an LSTM run llama.cpp's binding.
 * A module that cannot be imported (a broken build or installation) is an error naming it.
 */
import { statSync } from 'node:fs';
import { XentError } from '../core/errors.js';
import type { GgufLoadOptions } from './gguf/gguf-language-model.js';
import type { LanguageModel } from './language-model.js';
import { readModelJson } from './model-dir.js';

/** GGUF settings; `threads` also sets the LSTM's kernel threads. A remote model takes none of them. */
export type LoadModelOptions = GgufLoadOptions;

const OP = 'loadModel';

/** Whether `spec` names a model behind an HTTP endpoint rather than a file or directory. */
export function isRemoteModelSpec(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/** Imports a family's module; a failure says which module and why, with the cause attached. */
async function family<M>(file: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (e) {
    const why = String((e as Error | undefined)?.message ?? e).split('\n')[0];
    throw new XentError(
      'missing_dependency',
      OP,
      `cannot import src/models/${file} (${why}): this installation of xent is incomplete; rebuild it with \`npm run build\``,
      { file },
      { cause: e },
    );
  }
}

export async function loadModel(spec: string, opts: LoadModelOptions = {}): Promise<LanguageModel> {
  if (isRemoteModelSpec(spec)) {
    const { RemoteLanguageModel } = await family(
      'remote/remote-language-model.js',
      () => import('./remote/remote-language-model.js'),
    );
    return RemoteLanguageModel.open(spec, { arg: '--model' });
  }
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(spec);
  } catch {
    throw new XentError(
      'invalid_file',
      OP,
      `model ${spec} does not exist (expected a .gguf file, a directory of a model trained by xent, or the http(s):// URL of an OpenAI-compatible server)`,
      { file: spec, arg: '--model' },
    );
  }
  if (st.isDirectory()) {
    const { kind } = readModelJson(spec, OP);
    if (kind === 'ngram') {
      const { loadNgramLanguageModel } = await family(
        'ngram/ngram-language-model.js',
        () => import('./ngram/ngram-language-model.js'),
      );
      return loadNgramLanguageModel(spec);
    }
    const { loadLstmLanguageModel } = await family(
      'lstm/lstm-language-model.js',
      () => import('./lstm/lstm-language-model.js'),
    );
    return loadLstmLanguageModel(spec, opts.threads !== undefined ? { threads: opts.threads } : {});
  }
  const { loadGgufModel } = await family('gguf/gguf-language-model.js', () => import('./gguf/gguf-language-model.js'));
  return loadGgufModel(spec, opts);
}
