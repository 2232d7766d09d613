/**
 * The gearman text (admin) protocol: commands, their encoding, and the server's view of a
 * request line. Replies live in admin-replies.ts and are re-exported from here.
 *
 * Request lines are split the way gearmand 1.1.20 splits them: on runs of spaces only (a tab
 * is part of a word), so a leading space makes an empty first word and a trailing space an
 * empty last one. Keywords match case-insensitively (ASCII).
 */
import { AdminError } from './admin-errors.ts';
import { type AdminCommandKind, AdminReplyCollector, type CollectorOptions } from './admin-replies.ts';
import { encodeTextLine } from './encoder.ts';
import { ProtocolError } from './errors.ts';

export * from './admin-errors.ts';
export * from './admin-replies.ts';

/** Per-priority queue limits; 0 means unlimited. */
export interface QueueLimits {
  readonly high: number;
  readonly normal: number;
  readonly low: number;
}

export type AdminCommand =
  | { readonly kind: 'status' }
  | { readonly kind: 'prioritystatus' }
  | { readonly kind: 'workers' }
  | { readonly kind: 'version' }
  | { readonly kind: 'getpid' }
  | { readonly kind: 'showJobs' }
  | { readonly kind: 'showUniqueJobs' }
  | { readonly kind: 'cancelJob'; readonly handle: string }
  /** Without a limit, the function's queue goes back to unlimited. One number applies to every priority. */
  | { readonly kind: 'maxqueue'; readonly function: string; readonly limit?: number | QueueLimits }
  | { readonly kind: 'createFunction'; readonly function: string }
  | { readonly kind: 'dropFunction'; readonly function: string }
  | { readonly kind: 'verbose' }
  | { readonly kind: 'shutdown'; readonly graceful?: boolean };

// Every command has a reply type and every reply type a command.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const kindsMatch: Same<AdminCommand['kind'], AdminCommandKind> = true;
void kindsMatch;

export type AdminCommandOf<K extends AdminCommandKind> = Extract<AdminCommand, { readonly kind: K }>;

// ---- client side ------------------------------------------------------------------------

const INT32_MAX = 0x7fffffff;

/** Words are split on spaces and lines on "\n"; a NUL would cut gearmand's C string short. */
function checkWord(value: string, what: string): string {
  if (value === '' || /[\s\0]/u.test(value)) {
    throw new ProtocolError('BAD_ARGUMENT', `${what} must be non-empty without whitespace or NUL: ${JSON.stringify(value)}`);
  }
  return value;
}

/** gearmand reads queue limits with atoi into an int. */
function checkLimit(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > INT32_MAX) {
    throw new ProtocolError('BAD_ARGUMENT', `${what} must be an integer from 0 to ${INT32_MAX}, got ${value}`);
  }
  return value;
}

function formatLimit(limit: number | QueueLimits | undefined): string {
  if (limit === undefined) return '';
  if (typeof limit === 'number') return ` ${checkLimit(limit, 'maxqueue limit')}`;
  const { high, normal, low } = limit;
  return ` ${checkLimit(high, 'high limit')} ${checkLimit(normal, 'normal limit')} ${checkLimit(low, 'low limit')}`;
}

/** The command line, without its line ending. Throws ProtocolError BAD_ARGUMENT on a bad argument. */
export function formatAdminCommand(command: AdminCommand): string {
  switch (command.kind) {
    case 'status':
    case 'prioritystatus':
    case 'workers':
    case 'version':
    case 'getpid':
    case 'verbose':
      return command.kind;
    case 'showJobs':
      return 'show jobs';
    case 'showUniqueJobs':
      return 'show unique jobs';
    case 'cancelJob':
      return `cancel job ${checkWord(command.handle, 'job handle')}`;
    case 'maxqueue':
      return `maxqueue ${checkWord(command.function, 'function name')}${formatLimit(command.limit)}`;
    case 'createFunction':
      return `create function ${checkWord(command.function, 'function name')}`;
    case 'dropFunction':
      return `drop function ${checkWord(command.function, 'function name')}`;
    case 'shutdown':
      return command.graceful === true ? 'shutdown graceful' : 'shutdown';
  }
}

/** The command as bytes to write, CRLF-terminated. */
export function encodeAdminCommand(command: AdminCommand): Uint8Array {
  return encodeTextLine(formatAdminCommand(command));
}

/** A collector for the reply to `command`. */
export function collectorFor<C extends AdminCommand>(
  command: C,
  options: CollectorOptions = {},
): AdminReplyCollector<C['kind']> {
  return new AdminReplyCollector(command.kind, options);
}

// ---- server side ------------------------------------------------------------------------

export type AdminRequest =
  | { readonly ok: true; readonly command: AdminCommand }
  | {
      readonly ok: false;
      /** unknown: gearmand has no such command; invalid: it has, but not with these arguments. */
      readonly reason: 'unknown' | 'invalid';
      /** The first word as sent (original case). */
      readonly word: string;
      /** What gearmand answers. */
      readonly error: AdminError;
    };

export function unknownCommandError(word: string): AdminError {
  return new AdminError('UNKNOWN_COMMAND', `Unknown server command${word}`);
}

export function invalidArgumentsError(word: string): AdminError {
  return new AdminError('INVALID_ARGUMENTS', `An incomplete set of arguments was sent to this command ${word}`);
}

function lowerAscii(word: string): string {
  return word.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** C atoi, clamped: leading blanks, a sign, digits; anything else reads 0. gearmand turns negatives into 0. */
function atoiLimit(word: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(word);
  if (match === null || match[1] === '-') return 0;
  return Math.min(Number(match[2]), INT32_MAX);
}

function parseMaxqueue(words: readonly string[]): AdminCommand {
  const fn = words[1] ?? '';
  if (words.length === 2) return { kind: 'maxqueue', function: fn };
  if (words.length === 3) return { kind: 'maxqueue', function: fn, limit: atoiLimit(words[2] ?? '') };
  // A missing low limit gets gearmand's default, 0 (unlimited); words past the fifth are ignored.
  const limit = { high: atoiLimit(words[2] ?? ''), normal: atoiLimit(words[3] ?? ''), low: atoiLimit(words[4] ?? '0') };
  return { kind: 'maxqueue', function: fn, limit };
}

/**
 * Reads a request line (without its line ending) as gearmand 1.1.20 would.
 * Never throws: every line is a command, an unknown command, or a known one misused.
 */
export function parseAdminRequest(line: string): AdminRequest {
  const words = line.split(/ +/);
  const word = words[0] ?? '';
  const argc = words.length;
  const is = (index: number, keyword: string): boolean => lowerAscii(words[index] ?? '') === keyword;
  const command = (c: AdminCommand): AdminRequest => ({ ok: true, command: c });
  const invalid = (error: AdminError): AdminRequest => ({ ok: false, reason: 'invalid', word, error });

  switch (lowerAscii(word)) {
    case 'status':
    case 'prioritystatus':
    case 'workers':
    case 'version':
    case 'getpid':
    case 'verbose':
      // gearmand ignores any further words.
      return command({ kind: lowerAscii(word) as 'status' | 'prioritystatus' | 'workers' | 'version' | 'getpid' | 'verbose' });
    case 'cancel':
      if (argc < 3) break;
      if (argc === 3 && is(1, 'job')) return command({ kind: 'cancelJob', handle: words[2] ?? '' });
      return invalid(new AdminError('UNKNOWN_ERROR'));
    case 'show':
      if (argc < 2) break;
      if (argc === 2 && is(1, 'jobs')) return command({ kind: 'showJobs' });
      if (argc === 3 && is(1, 'unique') && is(2, 'jobs')) return command({ kind: 'showUniqueJobs' });
      return invalid(new AdminError('UNKNOWN_SHOW_ARGUMENTS'));
    case 'create':
    case 'drop':
      if (argc === 3 && is(1, 'function')) {
        const kind = is(0, 'create') ? 'createFunction' : 'dropFunction';
        return command({ kind, function: words[2] ?? '' });
      }
      return invalid(invalidArgumentsError(word));
    case 'maxqueue':
      return argc === 1 ? invalid(invalidArgumentsError(word)) : command(parseMaxqueue(words));
    case 'shutdown':
      if (argc === 1) return command({ kind: 'shutdown' });
      if (argc === 2 && is(1, 'graceful')) return command({ kind: 'shutdown', graceful: true });
      return invalid(invalidArgumentsError(word));
  }
  return { ok: false, reason: 'unknown', word, error: unknownCommandError(word) };
}
