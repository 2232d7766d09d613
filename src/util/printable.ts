import { UNSAFE } from './log-text.ts';

const ANY_UNSAFE = new RegExp(UNSAFE.source, 'u');

const hex = (char: string, width: number): string => char.codePointAt(0)!.toString(16).padStart(width, '0');

function escape(char: string): string {
  return char.codePointAt(0)! <= 0xff ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`;
}

/**
 * Text from servers and workers (function names, client ids, versions, failure reasons) as it
 * may reach a terminal: the backslash and every control character escaped, so none can move the
 * cursor, recolour or retitle the terminal, or hide what comes after it.
 */
export function printable(text: string): string {
  if (!ANY_UNSAFE.test(text) && !text.includes('\\')) return text;
  return text.replace(/\\/g, '\\\\').replace(UNSAFE, escape);
}

/**
 * JSON.stringify leaves DEL, C1 and the Unicode controls raw; this writes them as \u escapes (still
 * the same JSON). A C0 character left in its output is the indentation's own newline: kept.
 */
export function printableJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNSAFE, (char) => (char < ' ' ? char : `\\u${hex(char, 4)}`));
}
