import { CodedError } from '../errors/coded-error.ts';

export type StateErrorCode =
  /** The file cannot be opened as a state file (not SQLite, unreadable, a directory). */
  | 'STATE_FILE'
  /** The file was written by a newer version of this program. */
  | 'STATE_SCHEMA'
  /** No record with that id. */
  | 'STATE_UNKNOWN_RECORD'
  /** The change does not follow the record's states (e.g. ready → uploading), or breaks a rule the file enforces. */
  | 'STATE_CONFLICT'
  /** An export-state document that cannot be imported; nothing was changed. */
  | 'STATE_IMPORT_INVALID';

export class StateError extends CodedError<StateErrorCode> {
  override readonly name = 'StateError';

  constructor(code: StateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
