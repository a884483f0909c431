/**
 * Random inputs of the `xent bench` measurements, the same bits on every run and machine: a
 * xorshift32 stream, four uniforms summed per value (approximately normal, no Math.random).
 */

/** x ← N(0, σ²)-shaped values (sum of four U(0, 1), variance 1/3 each, rescaled), in place. */
export function fillNormal(x: Float32Array, seed: number, sigma: number): void {
  let s = seed >>> 0 || 1;
  const k = (sigma * Math.sqrt(3)) / 2 ** 32;
  for (let i = 0; i < x.length; i++) {
    let acc = 0;
    for (let j = 0; j < 4; j++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      acc += s >>> 0;
    }
    x[i] = (acc - 2 * 2 ** 32) * k;
  }
}
