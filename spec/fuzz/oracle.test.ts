/**
 * The fuzz checks trust spec/fuzz/oracle.ts, so it is checked against an independent reading:
 * the frames.json annotations of every captured gearmand session (written by the capture
 * tooling's own parser). Fails with zero captures: there would be nothing to check it against.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { CAPTURES_DIR, type Frame as AnnotatedFrame, frameArgBytes, loadCaptures } from '../support/captures.ts';
import { type Frame, expectedDecoding } from './oracle.ts';

const PERMISSIVE = { maxPacketSize: 0xffffffff, maxLineLength: Number.MAX_SAFE_INTEGER, expect: 'ANY' } as const;
const captures = existsSync(CAPTURES_DIR) ? loadCaptures() : [];
const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

function fromOracle(bytes: Uint8Array, frame: Frame): unknown {
  if (frame.kind === 'line') return { line: frame.text };
  return { packet: `${frame.magic} ${frame.type}`, args: frame.args.map(([start, end]) => hex(bytes.subarray(start, end))) };
}

function fromAnnotation(frame: AnnotatedFrame): unknown {
  if (frame.kind === 'text') return { line: frame.line };
  return { packet: `${frame.magic} ${frame.type}`, args: frame.args.map((arg) => hex(frameArgBytes(arg))) };
}

describe('the reference decoder agrees with the capture annotations', () => {
  test('the captures are there (fixtures/captures, re-recorded by `npm run capture`)', () => {
    expect(existsSync(CAPTURES_DIR)).toBe(true);
    expect(captures.length).toBeGreaterThan(0);
    for (const capture of captures) expect(capture.c2s.length + capture.s2c.length).toBeGreaterThan(0);
  });

  test.each(captures.flatMap((c) => (['c2s', 's2c'] as const).map((dir) => [`${c.name}/${dir}`, c, dir] as const)))(
    '%s',
    (_name, capture, direction) => {
      const bytes = capture[direction];
      const { frames, ending } = expectedDecoding(bytes, PERMISSIVE);
      expect(ending).toEqual({ kind: 'clean', consumed: bytes.length });
      expect(frames.map((frame) => fromOracle(bytes, frame))).toEqual(capture.frames[direction].map(fromAnnotation));
    },
  );
});
