/**
 * Control characters (C0, DEL, C1) and the Unicode controls that reorder or hide text (bidi
 * overrides, isolates, marks), plus the backslash that starts an escape.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;

function escape(char: string): string {
  if (char === '\\') return '\\\\';
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Text from servers and workers (function names, client ids, versions, failure reasons) as it
 * may reach a terminal: every control character escaped, so none can move the cursor, recolour
 * or retitle the terminal, or hide what comes after it.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}

/** JSON.stringify leaves DEL, C1 and the Unicode controls raw; this writes them as \u escapes (still the same JSON). */
export function printableJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
