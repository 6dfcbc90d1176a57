/**
 * Messages waiting for a future instant, bucketed by delivery time. Within a bucket, messages keep
 * the order they were scheduled in, which is their sequence order; so delivery is in (time, seq)
 * order without sorting messages.
 */
export class TimeQueue<T> {
  private readonly buckets = new Map<number, T[]>();
  /** Binary min-heap of the bucket times. */
  private readonly heap: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The bucket pushed to last: inputs of one batch all go to one time, so skip the map for them. */
  private lastTime = Number.NaN;
  private lastBucket: T[] | undefined;

  push(time: number, item: T): void {
    let bucket = time === this.lastTime ? this.lastBucket : this.buckets.get(time);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(time, bucket);
      this.heapPush(time);
    }
    this.lastTime = time;
    this.lastBucket = bucket;
    bucket.push(item);
    this.count++;
  }

  /** The earliest time with waiting messages. */
  peekTime(): number | undefined {
    return this.heap[0];
  }

  /** Removes and returns the earliest bucket. */
  popBucket(): { time: number; items: T[] } | undefined {
    const time = this.heapPop();
    if (time === undefined) return undefined;
    const items = this.buckets.get(time) ?? [];
    this.buckets.delete(time);
    if (time === this.lastTime) this.lastBucket = undefined;
    this.count -= items.length;
    return { time, items };
  }

  /** Every waiting item with its time, earliest first (for snapshots). */
  entries(): Array<{ time: number; items: readonly T[] }> {
    return [...this.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([time, items]) => ({ time, items }));
  }

  private heapPush(value: number): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= value) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = value;
  }

  private heapPop(): number | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && heap[right]! < heap[left]! ? right : left;
        if (heap[child]! >= last) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
