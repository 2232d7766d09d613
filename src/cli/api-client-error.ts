import { CodedError } from '../errors/coded-error.ts';

/** A refusal by the scheduler's API (its error code, e.g. API_UNAUTHORIZED), or API_UNREACHABLE. */
export class ApiClientError extends CodedError<string> {
  override readonly name = 'ApiClientError';
}
