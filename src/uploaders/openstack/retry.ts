import { oneLine } from '../../errors/thrown.ts';
import type { Logger } from '../../util/log.ts';
import { HttpConnectionError, HttpStatusError } from './errors.ts';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8_000 };

/** Connection errors and 5xx/408/429 answers: the cloud may do better in a moment. */
export function isTransient(err: unknown): boolean {
  return err instanceof HttpConnectionError || (err instanceof HttpStatusError && err.transient);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with full jitter in its upper half, capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error, or has used up the
 * policy's tries; waits with backoff in between, and stops at once when `signal` aborts.
 */
export async function withRetries<T>(
  what: string,
  policy: RetryPolicy,
  signal: AbortSignal,
  logger: Logger,
  attempt: (n: number) => Promise<T>,
  retryable: (err: unknown) => boolean = isTransient,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (signal.aborted || n >= policy.attempts || !retryable(err)) throw err;
      const delay = backoffDelay(policy, n);
      logger.warn(`${what}: ${oneLine(err)}; try ${n + 1} of ${policy.attempts} in ${delay} ms`);
      await sleep(delay, signal);
    }
  }
}
