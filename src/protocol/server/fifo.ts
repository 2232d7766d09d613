const NO_ITEMS: never[] = [];

/**
 * A first-in first-out queue on a growable ring buffer: O(1) push and shift with no
 * per-item allocation (an array's shift() is O(n) once it grows past a few thousand items).
 */
export class Fifo<T> {
  /** Empty until the first push: a fleet registers tens of thousands of functions, most of them idle, each with three queues. */
  private items: (T | undefined)[] = NO_ITEMS;
  private head = 0;
  private count = 0;
  private readonly initialCapacity: number;

  constructor(initialCapacity = 16) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity <<= 1;
    this.initialCapacity = capacity;
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const mask = this.items.length - 1;
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) & mask] as T;
  }

  private grow(): void {
    const old = this.items;
    const mask = old.length - 1;
    const next = new Array<T | undefined>(old.length === 0 ? this.initialCapacity : old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & mask];
    this.items = next;
    this.head = 0;
  }
}
