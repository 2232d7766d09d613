/** The line protocol between the bench and its children (stdout up, stdin down). */

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

export interface ClientReport {
  readonly jobs: number;
  /** Results that were not the exact echo of their job's payload. */
  readonly bad: number;
  /** Wall clock (epoch ms, sub-ms precision) when the timed batch began and ended. */
  readonly startMs: number;
  readonly endMs: number;
  /** Submit → result per job, microseconds. */
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
