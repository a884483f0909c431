// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
// Small helpers shared by the trainer's kernels (train-kernels.ts, lib/panel-mm.ts).

// a·b + c: fused on relaxed SIMD builds (one rounding), mul then add otherwise.
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** [lo, hi) of `n` items for this part, in multiples of `align`. */
// @ts-ignore: decorator
@inline export function rangeLo(n: i32, align: i32, part: i32, nparts: i32): i32 {
  const blocks = (n + align - 1) / align;
  return min(n, <i32>((<i64>blocks * part) / nparts) * align);
}
