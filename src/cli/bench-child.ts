/**
 * The `xent bench` measurements run in a fresh process (`xent bench <name> --child …`), so that
 * the peak memory they report is theirs alone: this starts that process with the same Node
 * flags (plus `extraNodeFlags`) and returns the JSON object it prints last. A failing child is
 * one XentError quoting its last line of stderr.
 */
import { XentError } from '../core/errors.js';

export async function measureInChild<T>(
  op: string,
  args: readonly string[],
  extraNodeFlags: readonly string[] = [],
): Promise<T> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [...extraNodeFlags, ...process.execArgv, process.argv[1] as string, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim().split('\n').pop() ?? '';
    throw new XentError(
      'numerical_error',
      op,
      `the measuring process failed (exit ${r.status ?? r.signal}): ${msg.replace(/^xent: /, '')}`,
    );
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
}
