/**
 * The native training kernels for tests (src/kernels/native-train.ts). Locally, where the
 * addon is not built, the tests that need it skip with the reason; under CI (CI=true) its
 * absence is an error, so a broken native build cannot pass as a skipped suite.
 */
import { readFileSync } from 'node:fs';
import {
  loadNativeTrain,
  type NativeTrainIsa,
  type NativeTrainKernels,
  nativeTrainUnavailableReason,
} from '../../src/kernels/native-train.js';

export function nativeTrainForTests(): { nt: NativeTrainKernels | undefined; skip: false | string } {
  const nt = loadNativeTrain();
  if (nt) return { nt, skip: false };
  const reason = `native training kernels unavailable: ${nativeTrainUnavailableReason()}`;
  if (process.env.CI) throw new Error(`${reason} (CI=true: the native binding must be built and load)`);
  return { nt, skip: reason };
}

/** The vector implementations this machine offers besides the scalar reference. */
export function fastIsas(nt: NativeTrainKernels | undefined): NativeTrainIsa[] {
  return nt ? nt.info().available.filter((i) => i !== 'scalar') : [];
}

/** Runs f with the kernels switched to `isa` and `threads`, restoring both afterwards. */
export function withIsa<R>(nt: NativeTrainKernels, isa: NativeTrainIsa, threads: number, f: () => R): R {
  const prevIsa = nt.setIsa(isa);
  const prevThreads = nt.setThreads(threads);
  try {
    return f();
  } finally {
    nt.setIsa(prevIsa);
    nt.setThreads(prevThreads);
  }
}

/** The CPU's feature flags (Linux), empty elsewhere. */
export function cpuFlags(): Set<string> {
  try {
    return new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set<string>();
  }
}
