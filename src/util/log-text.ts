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

const SECRET_NAME = /pass|secret|token|key|credential|auth/i;
const SECRET_ASSIGNMENT = /\b((?:[\w-]*(?:password|passwd|secret|token|api[_-]?key|credentials?))["']?\s*[=:]\s*["']?)[^\s"',;]+/gi;

/**
 * Log lines that leave the host (a failed build's tail in its WORK_FAIL reason) with secrets
 * replaced by "<redacted>": the values of environment variables whose names say they are
 * secrets, and whatever follows `password=`, `token:` and the like. Control characters escaped.
 */
export function redactSecrets(lines: readonly string[], env: Readonly<Record<string, string>> = {}): string[] {
  const values = Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && value.length >= 4)
    .map(([, value]) => value)
    .sort((a, b) => b.length - a.length);
  return lines.map((line) => {
    let text = line;
    for (const value of values) text = text.split(value).join('<redacted>');
    return text.replace(SECRET_ASSIGNMENT, '$1<redacted>').replace(UNSAFE, escapeCharacter);
  });
}
