/**
 * Switches on WebAssembly relaxed SIMD (fused multiply-add) where the engine has it behind
 * a flag. Node 20's V8 (11.3) ships it but not by default; V8 flags can still be changed at
 * run time with v8.setFlagsFromString before a module is compiled, and worker threads share
 * the process's flags, so calling this once early is enough for every kernel module (the
 * runtime, src/kernels/runtime.ts, validates each family's relaxed build and falls back to
 * plain SIMD; the CLI calls this at start-up and the trainer's TrainKernels before it loads).
 *
 * The flag is set only when a 40-byte probe module using f32x4.relaxed_madd does not
 * validate, so newer engines (relaxed SIMD on by default, the flag possibly gone: V8 prints
 * "unrecognized flag" for unknown ones) are left alone. Outside Node (no node:v8) it only probes.
 */

/** node:v8, reached without a static import so that the browser-safe kernels layer stays bundleable. */
function setFlagsFromString(flags: string): void {
  const p = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const v8 = p?.getBuiltinModule?.('node:v8') as { setFlagsFromString(f: string): void } | undefined;
  if (!v8) throw new Error('node:v8 is unavailable here');
  v8.setFlagsFromString(flags);
}

// (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
// biome-ignore format: one line per section of the module
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) → v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // body
]);

function probe(): boolean {
  try {
    return WebAssembly.validate(PROBE);
  } catch {
    return false;
  }
}

let state: boolean | undefined;

/**
 * True when relaxed SIMD validates (after setting --experimental-wasm-relaxed-simd if that
 * was needed). Idempotent. Only the engine feature: which build loads is the runtime's choice
 * (XENT_WASM_RELAXED=0 or XENT_WASM_SIMD=plain force the plain builds).
 */
export function enableRelaxedSimd(): boolean {
  if (state !== undefined) return state;
  state = probe();
  if (!state) {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // an engine that rejects the flag simply keeps plain SIMD
    }
    state = probe();
  }
  return state;
}
