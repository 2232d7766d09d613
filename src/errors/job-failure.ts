/**
 * Thrown by a job handler for an expected failure (a build that exited non-zero, an unknown
 * provider): the worker answers WORK_FAIL and logs the reason. Any other error is unexpected
 * and becomes WORK_EXCEPTION with a one-line message.
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A job method was called after the job already sent its one terminal packet. */
export class JobStateError extends Error {
  override readonly name = 'JobStateError';
  readonly code = 'JOB_ALREADY_FINISHED';
}

/** One line, no stack: what goes into WORK_EXCEPTION and the log. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 500);
}
