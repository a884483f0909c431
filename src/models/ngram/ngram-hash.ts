/**
 * Open-addressing hash table from an int pair (parent node, token) to a node id,
 * used while counting n-grams: no string keys, no per-entry objects, and no limit on
 * the number of entries (V8's Map stops at 2^24). Linear probing, load ≤ 1/2; each
 * slot is three adjacent int32s [a, b, value] so a probe touches one cache line.
 */
export class PairIndex {
  private slots: Int32Array;
  private mask: number;
  private count = 0;
  /** Whether the last `getOrInsert` inserted. */
  inserted = false;

  constructor(expectedEntries = 1 << 16) {
    let cap = 16;
    while (cap < 2 * expectedEntries) cap *= 2;
    this.slots = PairIndex.empty(cap);
    this.mask = cap - 1;
  }

  private static empty(cap: number): Int32Array {
    const s = new Int32Array(3 * cap);
    for (let i = 2; i < s.length; i += 3) s[i] = -1;
    return s;
  }

  get size(): number {
    return this.count;
  }

  private static hash(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h >>> 0;
  }

  /** The value of (a, b) (≥ 0); when absent, stores `value` and returns it (`inserted` tells which). */
  getOrInsert(a: number, b: number, value: number): number {
    const s = this.slots;
    let i = PairIndex.hash(a, b) & this.mask;
    for (;;) {
      const o = 3 * i;
      const v = s[o + 2] as number;
      if (v < 0) {
        s[o] = a;
        s[o + 1] = b;
        s[o + 2] = value;
        this.inserted = true;
        if (++this.count * 2 > this.mask + 1) this.grow();
        return value;
      }
      if (s[o] === a && s[o + 1] === b) {
        this.inserted = false;
        return v;
      }
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const cap = 2 * (this.mask + 1);
    const s = PairIndex.empty(cap);
    this.mask = cap - 1;
    for (let o = 0; o < old.length; o += 3) {
      const v = old[o + 2] as number;
      if (v < 0) continue;
      const a = old[o] as number;
      const b = old[o + 1] as number;
      let i = PairIndex.hash(a, b) & this.mask;
      while ((s[3 * i + 2] as number) >= 0) i = (i + 1) & this.mask;
      s[3 * i] = a;
      s[3 * i + 1] = b;
      s[3 * i + 2] = v;
    }
    this.slots = s;
  }
}
