// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
/**
 * A deliberate trap, exported by every kernel module (ce, train-kernels, kld and their relaxed
 * builds) for the tests of the runtime's error contract (test/kernels/kernel-errors.test.ts):
 * a trap in any thread must reach the caller as an XentError naming the module and the kernel.
 * xent itself never calls it.
 *
 * Part `trapPart` of `nparts` traps, the others return at once: kind 0 with `unreachable`,
 * kind 1 with a load past the end of the memory ("memory access out of bounds"; the value is
 * returned so that the optimiser keeps the load).
 */
export function trapForTesting(trapPart: i32, kind: i32, part: i32, nparts: i32): i32 {
  if (part != trapPart || part >= nparts) return 0;
  if (kind == 1) return load<i32>(<usize>0xfffffff0);
  unreachable();
  return 0;
}
