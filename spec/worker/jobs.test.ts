import { describe, expect, test } from 'bun:test';
import { logValue } from '../../src/util/log-text.ts';
import { checkDeleteRequest, parseBuildRequest, parseUploadRequest, uploadProgress } from '../../src/worker/jobs.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('the job wire contract', () => {
  test('image-build takes nodepool 0.3\'s {"image-id"}', () => {
    expect(parseBuildRequest(bytes('{"image-id":"0123abcd"}'))).toEqual({ imageId: '0123abcd', follow: false });
    expect(parseBuildRequest(bytes('{"image-id":"a.b_c-1","follow":true}'))).toEqual({ imageId: 'a.b_c-1', follow: true });
  });

  test.each(['', 'nope', '[]', '{}', '{"image-id":""}', '{"image-id":"../x"}', '{"image-id":"a","follow":"yes"}'])(
    'image-build refuses %p as BAD_REQUEST',
    (data) => expect(() => parseBuildRequest(bytes(data))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' })),
  );

  test('image-upload takes a provider and an optional image name', () => {
    expect(parseUploadRequest(bytes('{"provider":"cloud-a","image-name":"tiny-1700000000"}'))).toEqual({
      provider: 'cloud-a',
      imageName: 'tiny-1700000000',
    });
    expect(parseUploadRequest(bytes('{"provider":"cloud-a"}'))).toEqual({ provider: 'cloud-a', imageName: undefined });
    expect(() => parseUploadRequest(bytes('{"image-name":"x"}'))).toThrow('"provider"');
  });

  test.each(['', '{}', '""', ' {} '])('image-delete accepts %p', (data) => expect(() => checkDeleteRequest(bytes(data))).not.toThrow());
  test('image-delete refuses data it does not understand', () => expect(() => checkDeleteRequest(bytes('{"x":1}'))).toThrow('no data'));
  test('oversized data is refused before parsing', () => {
    expect(() => parseBuildRequest(bytes(`{"image-id":"${'a'.repeat(70_000)}"}`))).toThrow('the limit is 65536');
  });
});

describe('upload progress on the wire (KiB)', () => {
  test('0 ≤ sent ≤ total, total > 0, and sent = total only when done', () => {
    expect(uploadProgress(0, 0)).toEqual([1, 1]);
    expect(uploadProgress(0, 19)).toEqual([0, 1]);
    expect(uploadProgress(18, 19)).toEqual([0, 1]);
    expect(uploadProgress(19, 19)).toEqual([1, 1]);
    expect(uploadProgress(2047, 2048)).toEqual([1, 2]);
    expect(uploadProgress(5_000_000_000, 10_000_000_000)).toEqual([4_882_812, 9_765_625]);
  });

  test('up to 4 TiB - 1 KiB fits 32 bits as KiB; beyond, both are scaled and the fraction kept', () => {
    const max = 0xffffffff;
    expect(uploadProgress(2 ** 41, 2 ** 42 - 1024)).toEqual([2 ** 31, max]);
    const [sent, total] = uploadProgress(2 ** 42, 2 ** 43);
    expect(total).toBe(max);
    expect(sent / total).toBeCloseTo(0.5, 6);
    expect(uploadProgress(2 ** 43 - 1, 2 ** 43)[0]).toBeLessThan(max);
    expect(uploadProgress(2 ** 43, 2 ** 43)).toEqual([max, max]);
  });

  test('never decreasing as the bytes grow', () => {
    const total = 3 * 2 ** 42 + 12_345;
    let last = -1;
    for (let sent = 0; sent <= total; sent += Math.floor(total / 997)) {
      const [n, d] = uploadProgress(sent, total);
      expect(n).toBeGreaterThanOrEqual(last);
      expect(n).toBeLessThanOrEqual(d);
      last = n;
    }
  });
});

describe('job values in log lines', () => {
  test('control characters are escaped, the value is quoted and cut to its first characters', () => {
    expect(logValue('a\n[warn] b\u001b[31m"\\')).toBe('"a\\n[warn] b\\u001b[31m\\"\\\\"');
    expect(logValue('\u{1F600}'.repeat(5), 3)).toBe('"\u{1F600}\u{1F600}\u{1F600}"…(2 more characters)');
    expect(logValue('x\u2028y\u202ez')).toBe('"x\\u2028y\\u202ez"');
  });

  test('image-name counts characters (code points), not UTF-16 units; provider has a limit too', () => {
    expect(parseUploadRequest(bytes(JSON.stringify({ provider: 'p', 'image-name': '\u{1F600}'.repeat(255) }))).imageName).toHaveLength(510);
    expect(() => parseUploadRequest(bytes(JSON.stringify({ provider: 'p', 'image-name': '\u{1F600}'.repeat(256) })))).toThrow('"image-name"');
    expect(() => parseUploadRequest(bytes(JSON.stringify({ provider: 'p'.repeat(256) })))).toThrow('"provider"');
  });
});
