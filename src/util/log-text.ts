/**
 * Control characters (C0, DEL, C1), the Unicode line and paragraph separators and the Unicode
 * controls that reorder or hide text (bidi marks, embeddings, overrides, isolates): anything that
 * could end a log line, move a terminal's cursor, colour a console or reorder what an operator
 * reads. The one set for logs and for the CLI's terminal output (src/util/printable.ts).
 */
export const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** Characters of one outside value shown in a log line at most. */
export const MAX_LOGGED_CHARACTERS = 200;

/**
 * An outside value (a job's data, a client's string) made safe for one log line: quoted, its
 * control characters escaped (\n, \u001b …), and cut to `max` characters with the number left out.
 */
export function logValue(value: string, max = MAX_LOGGED_CHARACTERS): string {
  const characters = [...value];
  const shown = characters.length > max ? characters.slice(0, max).join('') : value;
  const escaped = shown.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeCharacter);
  const cut = characters.length > max ? `…(${characters.length - max} more characters)` : '';
  return `"${escaped}"${cut}`;
}

/** Escapes the control characters of a whole log message except its newlines and tabs (its own layout). */
export function escapeControls(message: string): string {
  return message.replace(UNSAFE, (c) => (c === '\n' || c === '\t' ? c : escapeCharacter(c)));
}

function escapeCharacter(c: string): string {
  const named: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return named[c] ?? `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`;
}
