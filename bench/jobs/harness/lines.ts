/** The line protocol between the bench and its children (stdout up, stdin down). */
import type { BatchResult } from './batch.ts';

/** A worker is up (it may still be registering); a client has done its warm-up and waits. */
export const READY = 'ready';
/** Sent to clients: start the clock. */
export const GO = 'go';
/** Sent to clients after their result was read (and their CPU time sampled): close and exit. */
export const EXIT = 'exit';
/** Sent to JS workers (Perl ones get SIGTERM): report and exit. */
export const STOP = 'stop';
/** A worker's last line: `done <jobs handled>`. */
export const DONE = 'done';
/** A client's last line: `result <ClientReport as JSON>`. */
export const RESULT = 'result';

/** A client's timed batch (harness/batch.ts), its latencies as a plain list. */
export interface ClientReport extends Omit<BatchResult, 'latUs'> {
  readonly jobs: number;
  readonly latUs: readonly number[];
}

/** Resolves on the first stdin line equal to `word`. */
export function waitForLine(word: string): Promise<void> {
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      if (!buffered.split('\n').some((line) => line.trim() === word)) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve();
    };
    process.stdin.on('data', onData);
    process.stdin.resume();
  });
}
