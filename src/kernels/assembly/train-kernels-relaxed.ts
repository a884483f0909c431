// asc-flags: -O3 --noAssert --runtime stub --use abort= --enable simd --enable relaxed-simd --enable threads --importMemory --sharedMemory --initialMemory 1 --maximumMemory 65536
// The training kernels (train-kernels.ts) built with relaxed SIMD: madd() becomes a fused
// multiply-add (f32x4.relaxed_madd). Loaded instead of the plain build where the runtime accepts it.
export { packB, mm, ceRows, lstmForward, lstmBackward, colSumAcc, sumSq, scale, adam, trapForTesting } from './train-kernels';
