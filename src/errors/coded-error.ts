/**
 * The base of every error this program throws: a stable `code` that callers and tests match
 * on (never the message text), and a `name` each class sets itself (class names do not
 * survive the minified release build, so `name` cannot be derived from the constructor).
 */
export abstract class CodedError<Code extends string = string> extends Error {
  abstract override readonly name: string;
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
