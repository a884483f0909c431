/**
 * Order statistics for timings and summaries: the median of a sample, the average of the two
 * middle values when the count is even (NaN for an empty sample). The KLD summary keeps its
 * own median (src/eval/kld-stats.ts), which follows llama.cpp's float32 arithmetic.
 */
export function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return Number.NaN;
  const m = n >> 1;
  return n % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
