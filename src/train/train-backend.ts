/**
 * Which kernels train an LSTM (`xent train` and `xent distill`, `--backend native|wasm`): the
 * native training kernels (src/kernels/native-train.ts) where the binding loads, else the
 * WebAssembly ones, which give the same model up to float32 summation order, more slowly.
 * An explicit `--backend native` without the binding is an error naming why and the fix; the
 * default falls back with one notice per process on stderr (the style of the GGUF loader's
 * `warnMapFallback`, src/models/gguf/gguf-native.ts), or refuses under XENT_NATIVE=require (CI),
 * so that a broken binding cannot pass as the slow path.
 */
import { XentError } from '../core/errors.js';
import { loadNativeTrain, type NativeTrainKernels, nativeTrainUnavailableReason } from '../kernels/native-train.js';
import { nativeRebuildCommand } from '../models/gguf/gguf-native.js';

export type TrainBackend = 'native' | 'wasm';

export const TRAIN_BACKENDS: readonly TrainBackend[] = ['native', 'wasm'];

export type ResolvedBackend = { backend: 'native'; kernels: NativeTrainKernels } | { backend: 'wasm' };

let warned = false;

function fix(): string {
  return `rebuild the binding (\`${nativeRebuildCommand()}\`; it needs node-llama-cpp, git and a C compiler), and \`xent doctor\` checks the install`;
}

/** The backend to train on: `requested` ('native', 'wasm', or undefined for the fastest available). */
export function resolveTrainBackend(op: string, requested?: string): ResolvedBackend {
  if (requested !== undefined && requested !== 'native' && requested !== 'wasm')
    throw new XentError('invalid_argument', op, `--backend must be native or wasm, got ${JSON.stringify(requested)}`, {
      arg: '--backend',
      value: requested,
    });
  if (requested === 'wasm') return { backend: 'wasm' };
  const kernels = loadNativeTrain();
  if (kernels) {
    // info() runs the self-check: a vector path that fails it is dropped for the scalar one.
    kernels.info();
    return { backend: 'native', kernels };
  }
  const reason = nativeTrainUnavailableReason() ?? 'not loaded';
  if (requested === 'native')
    throw new XentError(
      'missing_dependency',
      op,
      `--backend native: the native training kernels are unavailable (${reason}). Fix: ${fix()}; or pass --backend wasm`,
      { arg: '--backend', value: requested },
    );
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  if (env.XENT_NATIVE === 'require')
    throw new XentError(
      'missing_dependency',
      op,
      `XENT_NATIVE=require, and the native training kernels are unavailable (${reason}). Fix: ${fix()}`,
      { arg: '--backend' },
    );
  if (!warned && env.XENT_NATIVE !== '0') {
    warned = true;
    process.stderr.write(
      `xent: warning: the native training kernels are unavailable (${reason}), so ${op} runs on the WebAssembly kernels: ` +
        `the same model, about 4× slower for a V = 10000 model (npm run bench -- train). Fix: ${fix()}; or pass --backend wasm to choose it.\n`,
    );
  }
  return { backend: 'wasm' };
}
