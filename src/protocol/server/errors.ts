import { CodedError } from '../../errors/coded-error.ts';

/** Misuse of the job server's API (the wire protocol's errors are ERROR packets, see wire.ts). */
export type ServerStateErrorCode = 'LISTEN_FAILED' | 'CLOSED' | 'BAD_OPTIONS';

export class ServerStateError extends CodedError<ServerStateErrorCode> {
  override readonly name = 'ServerStateError';

  constructor(code: ServerStateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `${code}: ${message}`, options);
  }
}
