import { describe, expect, test } from 'bun:test';
import { COPY_THRESHOLD, encodePacket, encodePacketBuffer, encodeTextLine } from '../../src/protocol/codec/encoder.ts';
import { ProtocolError } from '../../src/protocol/codec/errors.ts';
import { Type } from '../../src/protocol/codec/packets.ts';

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('encodePacket', () => {
  test('writes the PROTOCOL example byte for byte', () => {
    expect(hexOf(encodePacketBuffer('REQ', Type.CAN_DO, ['reverse']))).toBe('00524551' + '00000001' + '00000007' + '72657665727365');
  });

  test('separates arguments with NULs and leaves the last one unterminated', () => {
    const bytes = encodePacketBuffer('RES', Type.JOB_ASSIGN_UNIQ, ['H:lap:1', 'rev', '', Uint8Array.of(0, 1)]);
    expect(hexOf(bytes)).toBe('005245530000001f0000000f' + '483a6c61703a3100' + '72657600' + '00' + '0001');
  });

  test('writes multi-byte UTF-8 with its byte length', () => {
    const bytes = encodePacketBuffer('REQ', Type.CAN_DO, ['ñ']);
    expect(hexOf(bytes)).toBe('005245510000000100000002c3b1');
  });

  test('a large payload is returned as its own chunk, not copied', () => {
    const payload = new Uint8Array(COPY_THRESHOLD);
    const chunks = encodePacket('REQ', Type.WORK_COMPLETE, ['H:x:1', payload]);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toBe(payload);
    const size = (6 + COPY_THRESHOLD).toString(16).padStart(8, '0');
    expect(hexOf(chunks[0]!)).toBe(`00524551` + `0000000d` + size + `483a783a3100`);
  });

  test('a small payload is copied behind the header in one chunk', () => {
    const chunks = encodePacket('REQ', Type.WORK_COMPLETE, ['H:x:1', new Uint8Array(10)]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.length).toBe(12 + 6 + 10);
  });
});

describe('encodePacket refuses what cannot be decoded back', () => {
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ProtocolError) return err.code;
      throw err;
    }
    return undefined;
  };

  test('a NUL inside a separated argument', () => {
    expect(codeOf(() => encodePacket('REQ', Type.SUBMIT_JOB, ['f\0n', 'u', 'd']))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => encodePacket('REQ', Type.SUBMIT_JOB, ['fn', Uint8Array.of(0), 'd']))).toBe('BAD_ARGUMENT');
  });

  test('the wrong number of arguments', () => {
    expect(codeOf(() => encodePacket('REQ', Type.SUBMIT_JOB, ['fn', 'u']))).toBe('WRONG_ARGUMENT_COUNT');
    expect(codeOf(() => encodePacket('REQ', Type.GRAB_JOB_UNIQ, ['x']))).toBe('WRONG_ARGUMENT_COUNT');
  });

  test('an unknown type', () => {
    expect(codeOf(() => encodePacket('REQ', 5, []))).toBe('UNKNOWN_TYPE');
  });

  test('a newline in an admin command', () => {
    expect(codeOf(() => encodeTextLine('status\nworkers'))).toBe('BAD_ARGUMENT');
    expect(Buffer.from(encodeTextLine('status')).toString()).toBe('status\r\n');
  });
});
