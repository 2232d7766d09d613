export interface BackoffPolicy {
  /** First delay after a failed or lost connection. */
  readonly initialDelayMs: number;
  /** The delay never grows past this. */
  readonly maxDelayMs: number;
  readonly multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 200, maxDelayMs: 30_000, multiplier: 2 };

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so a fleet of
 * builders that lost the same server spreads its reconnects without ever retrying at once.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const step = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * this.policy.multiplier ** this.attempt);
    if (step < this.policy.maxDelayMs) this.attempt++;
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
