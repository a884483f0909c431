/**
 * The one WebAssembly runtime of every kernel module (the families of modules.ts: the losses'
 * `ce`, the trainer's `train`, the KL divergence's `kld`):
 *
 * - Loading. A family's relaxed-SIMD build (fused multiply-add) where the engine validates it,
 *   else its plain SIMD build; XENT_WASM_SIMD=plain or XENT_WASM_RELAXED=0 (where there is an
 *   environment) forces the plain builds, for comparisons. Whichever is chosen, every thread
 *   runs the same compiled module, so results stay bit-identical across thread counts.
 *   Compilation is synchronous where the platform allows it (Node: `new WebAssembly.Module`),
 *   so the kernels' callers stay synchronous; some browsers refuse synchronous compilation on
 *   the main thread (older Chromium: modules over 4 KiB): `await initKernels()` once there.
 *   Switching the engine's relaxed SIMD on (relaxed-simd.ts) is the caller's choice: the CLI
 *   and the trainer do it; the runtime only validates.
 * - Memory. A `KernelInstance` is one module instantiated over its own shared
 *   `WebAssembly.Memory` (SharedArrayBuffer: in browsers a cross-origin isolated page) with one
 *   allocator over it (heap.ts): addresses below HEAP_BASE (64 KiB) hold the module's static
 *   data (a test checks every module's data lies there), the heap starts above. JavaScript owns
 *   the heap; the kernels never allocate. The losses share one instance of `ce` (the functions
 *   at the end of this file: `allocFloat32` hands out views on it, used by the kernels without
 *   a copy); each trainer engine has its own `train` instance; `kld` has one.
 * - Calls. `run` splits a call into parts over the one worker pool (pool.ts), `call` runs on
 *   the calling thread and returns the kernel's value; a trap in any thread throws the
 *   XentError of kernel-error.ts. Where the kernels cannot load, the losses report themselves
 *   unavailable and run the JavaScript path.
 */
import { Heap, PAGE_BYTES } from './heap.js';
import { CE_MODULE, type CeKernel, KERNEL_MODULES, type KernelModuleSpec } from './modules.js';
import { callKernel, forgetClient, type PoolClient, runParts } from './pool.js';

/** First byte of every module's heap: its static data lies below. */
export const HEAP_BASE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

export type KernelBuild = 'simd' | 'relaxed-simd';

/** A compiled build of one module family. */
export interface LoadedModule<K extends string = string> {
  readonly spec: KernelModuleSpec<K>;
  readonly module: WebAssembly.Module;
  readonly build: KernelBuild;
}

/** Base64 to bytes with `atob` (browsers and Node alike). */
export function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/** Whether the relaxed builds are wanted (neither XENT_WASM_SIMD=plain nor XENT_WASM_RELAXED=0). */
export function relaxedBuildsWanted(): boolean {
  return env('XENT_WASM_SIMD') !== 'plain' && env('XENT_WASM_RELAXED') !== '0';
}

/** Compiled modules by `${family}:${build}`: compiled once, shared by every instance and worker. */
const compiled = new Map<string, WebAssembly.Module>();

/** The build to load now and its bytes. */
function chooseBuild(spec: KernelModuleSpec): { build: KernelBuild; bytes: Uint8Array | null } {
  if (spec.relaxed !== undefined && relaxedBuildsWanted()) {
    if (compiled.has(`${spec.name}:relaxed-simd`)) return { build: 'relaxed-simd', bytes: null };
    const relaxed = decodeBase64(spec.relaxed);
    try {
      if (WebAssembly.validate(relaxed as BufferSource)) return { build: 'relaxed-simd', bytes: relaxed };
    } catch {
      // fall through to the plain build
    }
  }
  return { build: 'simd', bytes: compiled.has(`${spec.name}:simd`) ? null : decodeBase64(spec.plain) };
}

/** Compiles (once) the build of `spec` to use now. Synchronous; throws where the platform refuses. */
export function loadModule<K extends string>(spec: KernelModuleSpec<K>): LoadedModule<K> {
  const { build, bytes } = chooseBuild(spec);
  const key = `${spec.name}:${build}`;
  let module = compiled.get(key);
  if (module === undefined) {
    module = new WebAssembly.Module(bytes as BufferSource);
    compiled.set(key, module);
  }
  return { spec, module, build };
}

/** loadModule, compiling asynchronously (what browsers' main thread needs). */
export async function loadModuleAsync<K extends string>(spec: KernelModuleSpec<K>): Promise<LoadedModule<K>> {
  const { build, bytes } = chooseBuild(spec);
  const key = `${spec.name}:${build}`;
  if (!compiled.has(key)) compiled.set(key, await WebAssembly.compile(bytes as BufferSource));
  return loadModule(spec);
}

let nextId = 1;

/** Thrown by an `abort` import (modules built without `--use abort=`): reaches the caller as a kernel error. */
function abort(): never {
  throw new Error('abort() called');
}

/**
 * One kernel module instantiated over its own shared memory, with its allocator: the unit the
 * pool runs kernels on. Pointers are byte offsets into the memory.
 */
export class KernelInstance<K extends string = string> implements PoolClient {
  readonly id = nextId++;
  readonly moduleName: string;
  readonly kernelNames: readonly K[];
  readonly module: WebAssembly.Module;
  readonly build: KernelBuild;
  readonly memory: WebAssembly.Memory;
  readonly heap: Heap;
  readonly fns: readonly ((...a: number[]) => unknown)[];
  private readonly index = new Map<string, number>();
  /** Every ArrayBuffer object the memory has exposed (one per growth): views on them are views on this memory. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private closed = false;

  /** `bytes`: heap bytes to reserve up front (the memory grows on demand beyond them). */
  constructor(loaded: LoadedModule<K>, bytes = 0) {
    this.moduleName = loaded.spec.name;
    this.kernelNames = loaded.spec.kernels;
    this.module = loaded.module;
    this.build = loaded.build;
    const pages = Math.min(MAX_PAGES, Math.max(1, Math.ceil((HEAP_BASE + bytes) / PAGE_BYTES)));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(loaded.module, { env: { memory: this.memory, abort } });
    this.fns = this.kernelNames.map((n, i) => {
      const f = instance.exports[n];
      if (typeof f !== 'function') throw new Error(`kernel module ${this.moduleName} has no export ${n}`);
      this.index.set(n, i);
      return f as (...a: number[]) => unknown;
    });
    this.heap = new Heap(this.memory, HEAP_BASE);
  }

  private kernelIndex(kernel: K): number {
    return this.index.get(kernel) as number;
  }

  /**
   * Runs `kernel` as `parts` parts over the worker pool (part 0 on the calling thread):
   * `argsFor(part, parts)` gives each part's arguments, `parts` being the count actually used.
   */
  run(kernel: K, parts: number, argsFor: (part: number, parts: number) => readonly number[]): void {
    runParts(this, this.kernelIndex(kernel), parts, argsFor);
  }

  /** Runs `kernel` once on the calling thread; returns its value (0 for kernels without one). */
  call(kernel: K, ...args: number[]): number {
    return callKernel(this, this.kernelIndex(kernel), args);
  }

  /** A block of `bytes` bytes (64-byte aligned), contents undefined. */
  alloc(bytes: number): number {
    return this.heap.alloc(Math.max(bytes, 1));
  }

  release(ptr: number): void {
    this.heap.release(ptr);
  }

  /** The memory's current buffer (registered so that views on it are recognised by `owns`). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** True if `a` is a view on this memory (so it can be passed by address, without a copy). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.buffer(), ptr, length);
  }
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.buffer(), ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.buffer(), ptr, length);
  }
  u16(ptr: number, length: number): Uint16Array {
    return new Uint16Array(this.buffer(), ptr, length);
  }

  /** Tells the pool's workers to drop their instances over this memory; the memory is freed once unreferenced. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    forgetClient(this);
  }
}

/**
 * Compiles every kernel module asynchronously (needed in browsers before the first synchronous
 * call). Resolves true when the losses' kernels are usable. Safe to call repeatedly.
 */
export async function initKernels(): Promise<boolean> {
  if (lossState) return true;
  try {
    await loadModuleAsync(CE_MODULE);
  } catch (e) {
    unavailableReason = (e as Error).message ?? String(e);
    lossState = null;
    return false;
  }
  // The other modules are only pre-compiled here; one that fails is not cached, so its first
  // use loads it again and throws its reason to the caller that needs it.
  for (const spec of KERNEL_MODULES) if (spec !== CE_MODULE) await loadModuleAsync(spec).catch(() => undefined);
  lossState = undefined;
  return tryStart() !== null;
}

// ---- the losses' kernels: one instance of the `ce` module shared by every loss ----

let lossState: KernelInstance<CeKernel> | null | undefined; // undefined: not tried; null: unavailable
let unavailableReason = '';
let lossBuild: KernelBuild | '' = '';

function tryStart(): KernelInstance<CeKernel> | null {
  if (lossState !== undefined) return lossState;
  let loaded: LoadedModule<CeKernel> | undefined;
  try {
    if (typeof WebAssembly === 'undefined') throw new Error('no WebAssembly in this environment');
    if (typeof SharedArrayBuffer === 'undefined')
      throw new Error('no SharedArrayBuffer (the page is not cross-origin isolated)');
    loaded = loadModule(CE_MODULE);
    lossState = new KernelInstance(loaded);
    lossBuild = loaded.build;
  } catch (e) {
    unavailableReason = (e as Error).message ?? String(e);
    // Synchronous compilation can be refused (browsers' main thread); initKernels() may still succeed.
    lossState = loaded === undefined ? undefined : null;
    return null;
  }
  return lossState;
}

/** Which build the losses' kernels run: 'relaxed-simd' (fused multiply-add), 'simd', or '' before the first use. */
export function kernelBuild(): KernelBuild | '' {
  return lossBuild;
}

/** True when the losses' WebAssembly kernels can run here (compiling them on first use in Node). */
export function kernelsAvailable(): boolean {
  return tryStart() !== null;
}

/** Why the losses' kernels are unavailable ('' when they are available). */
export function kernelsUnavailableReason(): string {
  return tryStart() === null ? unavailableReason || 'not initialised' : '';
}

/** The losses' kernel instance; throws when unavailable (callers check kernelsAvailable() first). */
export function kernelRuntime(): KernelInstance<CeKernel> {
  const rt = tryStart();
  if (rt === null) throw new Error(`xent WebAssembly kernels unavailable: ${unavailableReason || 'not initialised'}`);
  return rt;
}

/** True if `a` is a view on the losses' kernel memory (so it can be passed by address, without a copy). */
export function isKernelResident(a: ArrayBufferView): boolean {
  return lossState ? lossState.owns(a) : false;
}

/**
 * A zero-filled Float32Array of `length` elements living in the losses' kernel memory.
 * Logits (or gradient buffers) placed here are used by the WebAssembly kernels in place,
 * without the copy an ordinary array needs. Release it with `freeFloat32` when done
 * (the memory is then reused; the wasm memory itself never shrinks).
 * Throws when the kernels are unavailable (see `kernelsAvailable`).
 */
export function allocFloat32(length: number): Float32Array {
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError(`allocFloat32: length must be a non-negative integer, got ${length}`);
  const rt = kernelRuntime();
  const v = rt.f32(rt.alloc(length * 4), length);
  v.fill(0);
  return v;
}

/** Returns memory from `allocFloat32` to the kernels' heap. The array must not be used afterwards. */
export function freeFloat32(a: Float32Array): void {
  if (!isKernelResident(a)) return;
  kernelRuntime().release(a.byteOffset);
}

/** Bytes reserved by the losses' WebAssembly memory (it grows on demand, never shrinks). */
export function kernelMemoryBytes(): number {
  return lossState ? lossState.heap.reservedBytes : 0;
}

/**
 * Scratch allocations in one kernel instance for one call, released together. `f32`/`i32`
 * place a caller array in the memory: by address when it already lives there, else by copying.
 */
export class Scratch {
  private ptrs: number[] = [];
  constructor(readonly rt: KernelInstance) {}

  alloc(bytes: number): number {
    const p = this.rt.alloc(bytes);
    this.ptrs.push(p);
    return p;
  }

  /** Address of a float32 copy of `a` (or of `a` itself when it is a resident Float32Array). */
  f32(a: ArrayLike<number>): number {
    if (a instanceof Float32Array && this.rt.owns(a)) return a.byteOffset;
    const p = this.alloc(a.length * 4);
    this.rt.f32(p, a.length).set(a);
    return p;
  }

  /** Address of a float64 copy of `a`. */
  f64(a: ArrayLike<number>): number {
    const p = this.alloc(a.length * 8);
    this.rt.f64(p, a.length).set(a);
    return p;
  }

  /** Address of an int32 copy of `a` (or of `a` itself when resident). */
  i32(a: Int32Array): number {
    if (this.rt.owns(a)) return a.byteOffset;
    const p = this.alloc(a.length * 4);
    this.rt.i32(p, a.length).set(a);
    return p;
  }

  release(): void {
    for (const p of this.ptrs) this.rt.release(p);
    this.ptrs = [];
  }
}
