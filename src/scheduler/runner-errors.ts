import { CodedError } from '../errors/coded-error.ts';

export type RunnerErrorCode =
  /** A builder's WORK_COMPLETE data is not what the job wire contract says. */
  'JOB_RESULT_INVALID';

export class RunnerError extends CodedError<RunnerErrorCode> {
  override readonly name = 'RunnerError';

  constructor(code: RunnerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
