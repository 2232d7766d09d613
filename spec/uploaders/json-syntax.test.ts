import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { jsonSyntaxErrorOffset, lineAndColumn } from '../../src/uploaders/openstack/json-syntax.ts';

const accepts = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('jsonSyntaxErrorOffset: where JSON stops being JSON, without quoting it', () => {
  test('it agrees with JSON.parse on what is valid, for JSON and for JSON with one character changed', () => {
    const mutated = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', 'x', ':', '\\', '\n', '-', '0', 'e'))
      .map(([text, at, char]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + char + text.slice(i + 1);
      });
    fc.assert(
      fc.property(fc.oneof(fc.json(), mutated, fc.string()), (text) => {
        expect(jsonSyntaxErrorOffset(text) === undefined).toBe(accepts(text));
      }),
      { numRuns: 5_000 },
    );
  });

  test('the offset is where the bad token starts, as Python\'s json module reports it', () => {
    const text = '{\n  "auth": {"password": hunter2}\n}';
    const offset = jsonSyntaxErrorOffset(text)!;
    expect(text.slice(offset, offset + 7)).toBe('hunter2');
    expect(lineAndColumn(text, offset)).toEqual({ line: 2, column: 24 });
    expect(jsonSyntaxErrorOffset('{"a": 1,}')).toBe(8);
    expect(jsonSyntaxErrorOffset('{"a": 1} x')).toBe(9);
    expect(jsonSyntaxErrorOffset('"\\u12G4"')).toBe(5);
    expect(jsonSyntaxErrorOffset('')).toBe(0);
  });
});
