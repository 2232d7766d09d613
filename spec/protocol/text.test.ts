/** Arguments reach latin1/utf8 as Buffer views (long) or plain Uint8Array copies (short): both read the same. */
import { Buffer } from 'node:buffer';
import { expect, test } from 'bun:test';
import { latin1, utf8 } from '../../src/protocol/codec/text.ts';

const allBytes = Uint8Array.from({ length: 256 }, (_, b) => b);

test('latin1 maps every byte to the char of the same code, from a Buffer and from a plain Uint8Array', () => {
  const expected = Array.from(allBytes, (b) => String.fromCharCode(b)).join('');
  expect(latin1(allBytes)).toBe(expected);
  expect(latin1(Buffer.from(allBytes))).toBe(expected);
  expect(latin1(Buffer.from(allBytes).subarray(0x80, 0xa0))).toBe(expected.slice(0x80, 0xa0));
});

test('utf8 keeps a leading BOM and replaces invalid bytes, alike for both kinds', () => {
  const bytes = Uint8Array.of(0xef, 0xbb, 0xbf, 0x41, 0xc3, 0xa9, 0xff, 0x42);
  expect(utf8(bytes)).toBe('\ufeffAé\ufffdB');
  expect(utf8(Buffer.from(bytes))).toBe('\ufeffAé\ufffdB');
});
