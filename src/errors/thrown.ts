import { CodedError } from './coded-error.ts';

/** Something that was thrown (or rejected with) but is not an Error: a string, a number, an object. */
export class ThrownValue extends CodedError<'NOT_AN_ERROR'> {
  override readonly name = 'ThrownValue';

  constructor(readonly value: unknown) {
    super('NOT_AN_ERROR', String(value));
  }
}

/** What a catch clause caught, as an Error: itself when it is one, else wrapped (the value is kept). */
export function toError(caught: unknown): Error {
  return caught instanceof Error ? caught : new ThrownValue(caught);
}

/** One line, no stack, the error's name first unless it is a plain Error: for WORK_EXCEPTION and the log. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 500);
}

/** The string `code` an error carries (ENOENT, ECONNREFUSED, ERR_TLS_…, or one of ours), if any. */
export function errorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : undefined;
}
