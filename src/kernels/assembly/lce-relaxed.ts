// asc-flags: -O3 --noAssert --runtime stub --use abort= --enable simd --enable relaxed-simd --enable threads --importMemory --sharedMemory --initialMemory 1 --maximumMemory 65536
// The linear + cross-entropy kernels (lce.ts) built with relaxed SIMD: the panel product's
// madd() becomes a fused multiply-add (f32x4.relaxed_madd). Loaded instead of the plain build
// where the runtime accepts it.
export { packB, mm, lceStats, lceGrad, colSum64, trapForTesting } from './lce';
