/**
 * The WebAssembly runtime of the cross-entropy kernels: the compiled module
 * (src/kernels/assembly/ce.ts, embedded as base64 by scripts/build-wasm.mjs), one shared
 * `WebAssembly.Memory` used by the main thread and every worker, and a small allocator
 * over that memory (JS owns the heap; the kernels never allocate).
 *
 * Loading is synchronous where the platform allows it (Node: `new WebAssembly.Module`),
 * so the public losses stay synchronous. Some browsers refuse synchronous compilation on
 * the main thread (older Chromium: modules over 4 KiB): call `await initKernels()` once
 * there. The shared memory needs SharedArrayBuffer, i.e. a cross-origin isolated page
 * (COOP/COEP headers). Where either is missing, the kernels report themselves unavailable
 * and the losses run the JavaScript path. Browsers run the kernels on the calling thread
 * (their main thread cannot block in Atomics.wait).
 *
 * Memory: addresses [0, HEAP_BASE) hold the module's static data (AssemblyScript's math
 * tables, < 16 KiB; a test checks it); the heap starts at HEAP_BASE. Ordinary arrays are
 * staged through 16 MiB buffers a block of rows at a time, so a call reserves O(N) + a
 * constant; a WebAssembly memory never shrinks, and what it reserved is reused by later
 * calls. `allocFloat32` hands out views on this memory: logits (and gradient buffers) placed
 * there are used by the kernels without any copy, which is the fastest way to use them.
 */
import { WASM_BASE64 } from './generated/ce.wasm.js';
import { WASM_BASE64 as WASM_RELAXED_BASE64 } from './generated/ce-relaxed.wasm.js';

/** The exported kernels (see src/kernels/assembly/ce.ts for their contracts). */
export interface CeKernelExports {
  lseRows(x: number, v: number, r0: number, r1: number, stats: number): void;
  sumRows(x: number, v: number, r0: number, r1: number, out: number): void;
  softmaxRows(x: number, out: number, v: number, r0: number, r1: number, stats: number, log: number): void;
  ceRows(
    x: number,
    g: number,
    v: number,
    r0: number,
    r1: number,
    stats: number,
    tgt: number,
    smooth: number,
    w: number,
    w64: number,
    coef: number,
  ): void;
  ceSoftRows(
    x: number,
    q: number,
    g: number,
    v: number,
    r0: number,
    r1: number,
    stats: number,
    w: number,
    w64: number,
    eps: number,
    coef: number,
  ): void;
  bceLogitsRange(
    x: number,
    y: number,
    w: number,
    wp: number,
    pw: number,
    pwp: number,
    i0: number,
    i1: number,
    outs: number,
    loss: number,
    g: number,
    gscale: number,
    partial: number,
  ): void;
  klRange(
    inp: number,
    t: number,
    logTarget: number,
    i0: number,
    i1: number,
    outs: number,
    loss: number,
    g: number,
    gscale: number,
    partial: number,
  ): void;
}
export type KernelName = keyof CeKernelExports;
/** Fixed order: workers receive kernel indices, not names. */
export const KERNEL_NAMES: readonly KernelName[] = [
  'sumRows',
  'lseRows',
  'softmaxRows',
  'ceRows',
  'ceSoftRows',
  'bceLogitsRange',
  'klRange',
];
/** Element chunk of the elementwise kernels (bceLogitsRange, klRange): one float64 partial sum per chunk. */
export const ELEMENT_CHUNK = 8192;

const PAGE = 65536;
const HEAP_BASE = PAGE; // above the module's static data
const ALIGN = 64; // cache-line aligned blocks
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

/** First-fit allocator with coalescing over [HEAP_BASE, memory size). Blocks are 64-byte aligned. */
class Heap {
  /** Free blocks [start, size], sorted by start, never adjacent (coalesced). */
  private free: Array<[number, number]> = [];
  private used = new Map<number, number>();
  private end = HEAP_BASE;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.end = Math.max(HEAP_BASE, memory.buffer.byteLength);
    if (this.end > HEAP_BASE) this.free.push([HEAP_BASE, this.end - HEAP_BASE]);
  }

  /** Bytes currently reserved by the wasm memory (it never shrinks). */
  get reservedBytes(): number {
    return this.end;
  }

  get usedBytes(): number {
    let s = 0;
    for (const v of this.used.values()) s += v;
    return s;
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const blk = this.free[i] as [number, number];
      if (blk[1] >= size) {
        const p = blk[0];
        if (blk[1] === size) this.free.splice(i, 1);
        else {
          blk[0] += size;
          blk[1] -= size;
        }
        this.used.set(p, size);
        return p;
      }
    }
    // Grow: extend the last free block if it touches the end, else append.
    const last = this.free[this.free.length - 1];
    const tailFree = last !== undefined && last[0] + last[1] === this.end ? last[1] : 0;
    const need = size - tailFree;
    const pages = Math.ceil(need / PAGE);
    const have = this.end / PAGE;
    if (have + pages > MAX_PAGES) {
      throw new RangeError(
        `the kernels' WebAssembly memory cannot grow to ${(((have + pages) * PAGE) / 2 ** 30).toFixed(2)} GiB (limit 4 GiB)`,
      );
    }
    this.memory.grow(pages);
    const start = this.end - tailFree;
    if (tailFree > 0) this.free.pop();
    this.end += pages * PAGE;
    this.used.set(start, size);
    if (this.end > start + size) this.free.push([start + size, this.end - start - size]);
    return start;
  }

  release(p: number): void {
    const size = this.used.get(p);
    if (size === undefined) return;
    this.used.delete(p);
    // Insert sorted, then coalesce with neighbours.
    let i = 0;
    while (i < this.free.length && (this.free[i] as [number, number])[0] < p) i++;
    this.free.splice(i, 0, [p, size]);
    const cur = this.free[i] as [number, number];
    const next = this.free[i + 1];
    if (next !== undefined && cur[0] + cur[1] === next[0]) {
      cur[1] += next[1];
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev !== undefined && prev[0] + prev[1] === cur[0]) {
      prev[1] += cur[1];
      this.free.splice(i, 1);
    }
  }
}

export interface KernelRuntime {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly exports: CeKernelExports;
  readonly heap: Heap;
}

let compiled: WebAssembly.Module | undefined;
let runtimeState: KernelRuntime | null | undefined; // undefined: not tried; null: unavailable
let unavailableReason = '';
/** Every ArrayBuffer object the memory has exposed (one per growth): views on them are views on wasm memory. */
const memoryBuffers = new WeakSet<ArrayBufferLike>();

/**
 * The module's bytes: the relaxed-SIMD build (fused multiply-add in the exp polynomials,
 * ~25% fewer vector ops) where the engine validates it, else the plain SIMD build. Both give
 * results within the same tolerances; all threads always run the same build, so results stay
 * bit-identical across thread counts. XENT_WASM_SIMD=plain (where there is an environment)
 * forces the plain build, for comparisons.
 */
function moduleBytes(): Uint8Array {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.XENT_WASM_SIMD;
  if (env !== 'plain') {
    const relaxed = decodeBase64(WASM_RELAXED_BASE64);
    try {
      if (WebAssembly.validate(relaxed as BufferSource)) {
        moduleKind = 'relaxed-simd';
        return relaxed;
      }
    } catch {
      // fall through to the plain build
    }
  }
  moduleKind = 'simd';
  return decodeBase64(WASM_BASE64);
}

let moduleKind: 'simd' | 'relaxed-simd' | '' = '';

/** Which build runs: 'relaxed-simd' (fused multiply-add), 'simd', or '' before the first use. */
export function kernelBuild(): 'simd' | 'relaxed-simd' | '' {
  return moduleKind;
}

/** Base64 to bytes with `atob` (browsers and Node alike). */
export function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function instantiate(module: WebAssembly.Module): KernelRuntime {
  const memory = new WebAssembly.Memory({
    initial: 1,
    maximum: MAX_PAGES,
    shared: true,
  } as WebAssembly.MemoryDescriptor);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { module, memory, exports: instance.exports as unknown as CeKernelExports, heap: new Heap(memory) };
}

function tryStart(): KernelRuntime | null {
  if (runtimeState !== undefined) return runtimeState;
  try {
    if (typeof WebAssembly === 'undefined') throw new Error('no WebAssembly in this environment');
    if (typeof SharedArrayBuffer === 'undefined')
      throw new Error('no SharedArrayBuffer (the page is not cross-origin isolated)');
    compiled ??= new WebAssembly.Module(moduleBytes() as BufferSource);
    runtimeState = instantiate(compiled);
  } catch (e) {
    unavailableReason = (e as Error).message ?? String(e);
    // Synchronous compilation can be refused (browsers' main thread); initKernels() may still succeed.
    runtimeState = compiled === undefined ? undefined : null;
    return null;
  }
  return runtimeState;
}

/**
 * Compiles the kernels asynchronously (needed in browsers before the first synchronous call).
 * Resolves true when they are usable. Safe to call repeatedly.
 */
export async function initKernels(): Promise<boolean> {
  if (runtimeState) return true;
  try {
    compiled ??= await WebAssembly.compile(moduleBytes() as BufferSource);
  } catch (e) {
    unavailableReason = (e as Error).message ?? String(e);
    runtimeState = null;
    return false;
  }
  runtimeState = undefined;
  return tryStart() !== null;
}

/** True when the WebAssembly kernels can run here (compiling them on first use in Node). */
export function kernelsAvailable(): boolean {
  return tryStart() !== null;
}

/** Why the kernels are unavailable ('' when they are available). */
export function kernelsUnavailableReason(): string {
  return tryStart() === null ? unavailableReason || 'not initialised' : '';
}

/** The runtime; throws when unavailable (callers check kernelsAvailable() first). */
export function kernelRuntime(): KernelRuntime {
  const rt = tryStart();
  if (rt === null) throw new Error(`xent WebAssembly kernels unavailable: ${unavailableReason || 'not initialised'}`);
  return rt;
}

/** The memory's current buffer (registered so views on it are recognised as wasm-resident). */
export function memoryBuffer(rt: KernelRuntime = kernelRuntime()): ArrayBufferLike {
  const b = rt.memory.buffer;
  memoryBuffers.add(b);
  return b;
}

/** True if `a` is a view on the kernels' memory (so it can be passed by address, without a copy). */
export function isKernelResident(a: ArrayBufferView): boolean {
  return memoryBuffers.has(a.buffer);
}

export function f32View(ptr: number, length: number, rt?: KernelRuntime): Float32Array {
  return new Float32Array(memoryBuffer(rt), ptr, length);
}
export function f64View(ptr: number, length: number, rt?: KernelRuntime): Float64Array {
  return new Float64Array(memoryBuffer(rt), ptr, length);
}
export function i32View(ptr: number, length: number, rt?: KernelRuntime): Int32Array {
  return new Int32Array(memoryBuffer(rt), ptr, length);
}

/**
 * A zero-filled Float32Array of `length` elements living in the kernels' shared memory.
 * Logits (or gradient buffers) placed here are used by the WebAssembly kernels in place,
 * without the copy an ordinary array needs. Release it with `freeFloat32` when done
 * (the memory is then reused; the wasm memory itself never shrinks).
 * Throws when the kernels are unavailable (see `kernelsAvailable`).
 */
export function allocFloat32(length: number): Float32Array {
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError(`allocFloat32: length must be a non-negative integer, got ${length}`);
  const rt = kernelRuntime();
  const p = rt.heap.alloc(length * 4);
  const v = f32View(p, length, rt);
  v.fill(0);
  return v;
}

/** Returns memory from `allocFloat32` to the kernels' heap. The array must not be used afterwards. */
export function freeFloat32(a: Float32Array): void {
  if (!isKernelResident(a)) return;
  kernelRuntime().heap.release(a.byteOffset);
}

/** Bytes reserved by the kernels' WebAssembly memory (it grows on demand, never shrinks). */
export function kernelMemoryBytes(): number {
  return runtimeState ? runtimeState.heap.reservedBytes : 0;
}

/**
 * Scratch allocations for one kernel call, released together. `input` places a caller
 * array in wasm memory: by address when it already lives there, else by copying.
 */
export class Scratch {
  private ptrs: number[] = [];
  constructor(readonly rt: KernelRuntime) {}

  alloc(bytes: number): number {
    const p = this.rt.heap.alloc(Math.max(bytes, 1));
    this.ptrs.push(p);
    return p;
  }

  /** Address of a float32 copy of `a` (or of `a` itself when it is a wasm-resident Float32Array). */
  f32(a: ArrayLike<number>): number {
    if (a instanceof Float32Array && isKernelResident(a)) return a.byteOffset;
    const p = this.alloc(a.length * 4);
    f32View(p, a.length, this.rt).set(a);
    return p;
  }

  /** Address of a float64 copy of `a`. */
  f64(a: ArrayLike<number>): number {
    const p = this.alloc(a.length * 8);
    f64View(p, a.length, this.rt).set(a);
    return p;
  }

  /** Address of an int32 copy of `a` (or of `a` itself when wasm-resident). */
  i32(a: Int32Array): number {
    if (isKernelResident(a)) return a.byteOffset;
    const p = this.alloc(a.length * 4);
    i32View(p, a.length, this.rt).set(a);
    return p;
  }

  release(): void {
    for (const p of this.ptrs) this.rt.heap.release(p);
    this.ptrs = [];
  }
}
