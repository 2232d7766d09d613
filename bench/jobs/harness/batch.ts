/**
 * Keeps `inflight` echo jobs going through a driver until `count` are done, and records each
 * job's submit → result time. Payloads are built before the clock starts.
 */
import type { Buffer } from 'node:buffer';
import { isEcho } from '../payload.ts';

export interface EchoDriver {
  /** Submits one foreground job; `done` gets its WORK_COMPLETE data. */
  submit(payload: Buffer, done: (result: Uint8Array) => void, fail: (err: Error) => void): void;
  close(): Promise<void> | void;
}

export interface BatchResult {
  /** Results that were not the exact echo of their job's payload. */
  readonly bad: number;
  /** Wall clock (epoch ms, sub-ms precision) when the timed batch began and ended. */
  readonly startMs: number;
  readonly endMs: number;
  /** Submit → result per job, microseconds. */
  readonly latUs: Float64Array;
}

const epochMs = (): number => performance.timeOrigin + performance.now();

export function runBatch(driver: EchoDriver, payloads: readonly Buffer[], inflight: number): Promise<BatchResult> {
  const count = payloads.length;
  const latUs = new Float64Array(count);
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let bad = 0;
    let failed = false;
    const startMs = epochMs();
    const fail = (err: Error): void => {
      if (!failed) reject(err);
      failed = true;
    };
    const launch = (): void => {
      const k = next++;
      const expected = payloads[k]!;
      const t0 = performance.now();
      driver.submit(
        expected,
        (result) => {
          latUs[k] = (performance.now() - t0) * 1000;
          if (!isEcho(result, expected)) bad++;
          done++;
          if (next < count) launch();
          else if (done === count) resolve({ bad, startMs, endMs: epochMs(), latUs });
        },
        fail,
      );
    };
    if (count === 0) resolve({ bad, startMs, endMs: startMs, latUs });
    for (let i = 0; i < Math.min(inflight, count); i++) launch();
  });
}
