/**
 * Errors of the text (admin) protocol.
 *
 * AdminError is a reply: the server answered "ERR ...". It is data, handed back inside an
 * AdminReply, and is an Error only so that callers who prefer exceptions can throw it as is.
 * AdminParseError means the reply itself is broken (a line we cannot parse, or one nobody
 * asked for); the stream can no longer be trusted.
 */

import { CodedError } from '../../errors/coded-error.ts';

/** The codes gearmand 1.1.20 sends. Two of its messages carry no code; they get the last two names. */
const KNOWN_ADMIN_ERROR_CODES = [
  'UNKNOWN_COMMAND',
  'INVALID_ARGUMENTS',
  'UNKNOWN_SHOW_ARGUMENTS',
  'UNKNOWN_JOB',
  'UNKNOWN_ERROR',
  'CREATE_FUNCTION',
  'FUNCTION_NOT_FOUND',
  'FUNCTION_IN_USE',
  // Not gearmand's: our server's answer when its access rules do not grant the command.
  'PERMISSION_DENIED',
] as const;

export type KnownAdminErrorCode = (typeof KNOWN_ADMIN_ERROR_CODES)[number];

/** A code word no gearmand we know sends is `OTHER`; `serverCode` keeps the word itself. */
export type AdminErrorCode = KnownAdminErrorCode | 'OTHER';

const KNOWN = new Set<string>(KNOWN_ADMIN_ERROR_CODES);

function isKnown(word: string): word is KnownAdminErrorCode {
  return KNOWN.has(word);
}

export class AdminError extends CodedError<AdminErrorCode> {
  override readonly name = 'AdminError';
  /** Human text with gearmand's '+' turned back into spaces; '' when the server sent only a code. */
  readonly text: string;
  /** The code word as the server sent it: the same as `code` unless that is `OTHER`. */
  readonly serverCode: string;

  constructor(code: KnownAdminErrorCode, text?: string);
  constructor(code: AdminErrorCode, text: string, serverCode: string);
  constructor(code: AdminErrorCode, text = '', serverCode: string = code) {
    super(code, text ? `${serverCode}: ${text}` : serverCode);
    this.text = text;
    this.serverCode = serverCode;
  }

  /** The error an "ERR <word> [text]" line names, whatever the word. */
  static fromServer(word: string, text = ''): AdminError {
    return new AdminError(isKnown(word) ? word : 'OTHER', text, word);
  }
}

export type AdminParseErrorCode =
  /** A line does not have the shape its command's reply must have. */
  | 'MALFORMED_LINE'
  /** A line arrived after the reply was complete. */
  | 'UNEXPECTED_LINE'
  /** A list reply grew past the collector's limit. */
  | 'TOO_MANY_LINES'
  /** The lines ran out before the reply was complete. */
  | 'INCOMPLETE_REPLY';

const SNIPPET_CHARS = 80;

export class AdminParseError extends CodedError<AdminParseErrorCode> {
  override readonly name = 'AdminParseError';
  /** The offending line (cut to 80 characters), when there is one. */
  readonly line: string | undefined;

  constructor(code: AdminParseErrorCode, message: string, line?: string) {
    const snippet = line === undefined ? undefined : line.length > SNIPPET_CHARS ? `${line.slice(0, SNIPPET_CHARS)}…` : line;
    super(code, snippet === undefined ? `${code}: ${message}` : `${code}: ${message} (line ${JSON.stringify(snippet)})`);
    this.line = snippet;
  }
}
