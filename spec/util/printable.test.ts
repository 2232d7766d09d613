import { describe, expect, test } from 'bun:test';
import { printable, printableJson } from '../../src/util/printable.ts';
import { renderTable } from '../../src/cli/table.ts';

describe('text from servers on a terminal', () => {
  test('G7: control characters, bidi overrides and the backslash are escaped; other text stays', () => {
    expect(printable('\u001b[31mred\u001b]0;title\u0007')).toBe('\\x1b[31mred\\x1b]0;title\\x07');
    expect(printable('a\nb\r\tc\u007f\u009b')).toBe('a\\x0ab\\x0d\\x09c\\x7f\\x9b');
    expect(printable('evil\u202egnp.exe')).toBe('evil\\u202egnp.exe');
    expect(printable('C:\\x1b')).toBe('C:\\\\x1b');
    expect(printable('image-build:débian 🐧')).toBe('image-build:débian 🐧');
  });

  test('G7: a table never carries a raw control character, and stays aligned', () => {
    const table = renderTable(['FUNCTION', 'WORKERS'], [['\u001b[2Jwipe', '1'], ['ok', '2']]);
    expect(table).toBe('FUNCTION     WORKERS\n\\x1b[2Jwipe  1\nok           2');
  });

  test('G7: JSON output escapes what JSON.stringify leaves raw (DEL, C1, bidi) and still parses the same', () => {
    const value = { id: '\u009b31m\u007f\u202e\u001b' };
    const text = printableJson(value);
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  test('the line separators and bidi marks logs escape are escaped on a terminal too; indented JSON keeps its newlines', () => {
    expect(printable('a\u2028b\u200ec')).toBe('a\\u2028b\\u200ec');
    expect(printableJson({ id: 'x\u2029' }, 2)).toBe('{\n  "id": "x\\u2029"\n}');
  });
});
