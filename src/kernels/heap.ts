/**
 * The allocator every kernel memory uses (src/kernels/runtime.ts): first fit with coalescing
 * over [base, memory size) of one WebAssembly memory, blocks 64-byte aligned (cache lines;
 * every SIMD load of a row start is then aligned). JavaScript owns the heap; the kernels never
 * allocate. Addresses below `base` hold the module's static data (AssemblyScript's constant
 * tables; test/kernels/runtime.test.ts checks every module's data segments lie below it).
 * The memory grows on demand, a page (64 KiB) at a time, up to wasm32's 4 GiB; it never
 * shrinks, and what it reserved is reused by later allocations.
 */

export const PAGE_BYTES = 65536;
/** wasm32's limit, in pages (4 GiB). */
export const MAX_PAGES = 65536;
const ALIGN = 64;

export class Heap {
  /** Free blocks [start, size], sorted by start, never adjacent (coalesced). */
  private free: Array<[number, number]> = [];
  private used = new Map<number, number>();
  private end: number;

  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly base: number,
  ) {
    this.end = Math.max(base, memory.buffer.byteLength);
    if (this.end > base) this.free.push([base, this.end - base]);
  }

  /** Bytes currently reserved by the memory (it never shrinks). */
  get reservedBytes(): number {
    return this.end;
  }

  /** Bytes in blocks handed out and not yet released. */
  get usedBytes(): number {
    let s = 0;
    for (const v of this.used.values()) s += v;
    return s;
  }

  /** A block of at least `bytes` bytes (at least 64), 64-byte aligned; its contents are whatever was there. */
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
    const pages = Math.ceil(need / PAGE_BYTES);
    const have = this.end / PAGE_BYTES;
    if (have + pages > MAX_PAGES) {
      throw new RangeError(
        `the kernels' WebAssembly memory cannot grow to ${(((have + pages) * PAGE_BYTES) / 2 ** 30).toFixed(2)} GiB (limit 4 GiB)`,
      );
    }
    this.memory.grow(pages);
    const start = this.end - tailFree;
    if (tailFree > 0) this.free.pop();
    this.end += pages * PAGE_BYTES;
    this.used.set(start, size);
    if (this.end > start + size) this.free.push([start + size, this.end - start - size]);
    return start;
  }

  /** Returns a block from `alloc` (anything else is ignored). */
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
