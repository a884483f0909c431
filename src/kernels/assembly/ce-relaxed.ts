// asc-flags: -O3 --noAssert --runtime stub --use abort= --enable simd --enable relaxed-simd --enable threads --importMemory --sharedMemory --initialMemory 1 --maximumMemory 65536
// @ts-nocheck — AssemblyScript source (compiled by scripts/build-wasm.mjs with asc, not by tsc).
// The cross-entropy kernels (ce.ts) built with relaxed SIMD: the exp polynomials and range
// reductions use fused multiply-add (f32x4.relaxed_madd). src/kernels/runtime.ts loads this
// build where the engine accepts it (Node ≥ 22, Chromium ≥ 114; Node 20 with
// --experimental-wasm-relaxed-simd) and ce.wasm otherwise. Same exports, same contracts.
export { sumRows, lseRows, softmaxRows, ceRows, ceSoftRows, bceLogitsRange, klRange, CHUNK, trapForTesting } from './ce';
