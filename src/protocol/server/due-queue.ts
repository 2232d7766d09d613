import type { Job } from './job.ts';

/** Jobs submitted with SUBMIT_JOB_EPOCH for later, as a binary min-heap on their run time. */
export class DueQueue {
  private readonly heap: Job[] = [];

  get length(): number {
    return this.heap.length;
  }

  /** When the earliest job is due (ms), or undefined when none waits. */
  get nextAt(): number | undefined {
    return this.heap[0]?.runAt;
  }

  push(job: Job): void {
    const heap = this.heap;
    heap.push(job);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.runAt <= job.runAt) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = job;
  }

  /** Removes and returns the earliest job if it is due at `now`. */
  popDue(now: number): Job | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.runAt > now) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.runAt < heap[left]!.runAt ? right : left;
        if (heap[child]!.runAt >= last.runAt) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
