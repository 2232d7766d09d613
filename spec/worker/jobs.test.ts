import { describe, expect, test } from 'bun:test';
import { logValue } from '../../src/util/log-text.ts';
import {
  checkDeleteRequest,
  parseBuildRequest,
  parseProviderDeleteRequest,
  parseProviderListRequest,
  parseUploadRequest,
  uploadProgress,
} from '../../src/worker/jobs.ts';

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

  test('image-upload takes the scheduler\'s optional "upload-id", "system-id" and "external-id"', () => {
    const id = '0E5B1C2D-3F4A-4B5C-8D6E-7F8091A2B3C4';
    expect(
      parseUploadRequest(bytes(JSON.stringify({ provider: 'p', 'upload-id': 'u-0001', 'system-id': 'nodepool prod', 'external-id': id }))),
    ).toEqual({ provider: 'p', imageName: undefined, uploadId: 'u-0001', systemId: 'nodepool prod', externalId: id.toLowerCase() });
    // nodepool 0.3's data stays valid, and gets no keys it did not send.
    expect(Object.keys(parseUploadRequest(bytes('{"provider":"p","image-name":"n"}'))).sort()).toEqual(['imageName', 'provider']);
  });

  test.each([
    ['upload-id', ''],
    ['upload-id', 7],
    ['upload-id', ' padded'],
    ['upload-id', 'line\nbreak'],
    ['upload-id', 'x'.repeat(256)],
    ['system-id', null],
    ['system-id', 'bell\u0007'],
    ['external-id', 'not-a-uuid'],
    ['external-id', '0e5b1c2d3f4a4b5c8d6e7f8091a2b3c4'],
    ['external-id', '0e5b1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4/../x'],
    ['external-id', 12],
  ])('image-upload refuses %p = %p as BAD_REQUEST', (key, value) => {
    expect(() => parseUploadRequest(bytes(JSON.stringify({ provider: 'p', [key]: value })))).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining(`"${key}"`) }),
    );
  });

  test('a 255-character upload-id is taken (Glance\'s property limit), counted in code points', () => {
    expect(parseUploadRequest(bytes(JSON.stringify({ provider: 'p', 'upload-id': '🙂'.repeat(255) }))).uploadId).toBe('🙂'.repeat(255));
  });

  test.each(['', ' ', '{}', '""', 'null'])('provider-image-list takes %p as "every tagged image"', (data) => {
    expect(parseProviderListRequest(bytes(data))).toEqual({});
  });
  test('provider-image-list takes {"system-id"}', () => {
    expect(parseProviderListRequest(bytes('{"system-id":"sys-a"}'))).toEqual({ systemId: 'sys-a' });
  });
  test.each(['nope', '[]', '{"system_id":"a"}', '{"system-id":""}', '{"system-id":3}', '{"system-id":"a","x":1}'])(
    'provider-image-list refuses %p as BAD_REQUEST (a typo must not widen the listing)',
    (data) => expect(() => parseProviderListRequest(bytes(data))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' })),
  );
  test('provider-image-delete takes {"external-id": "<uuid>"}, in lower case', () => {
    expect(parseProviderDeleteRequest(bytes('{"external-id":"0E5B1C2D-3F4A-4B5C-8D6E-7F8091A2B3C4"}'))).toEqual({
      externalId: '0e5b1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4',
    });
  });
  test.each(['', '{}', '""', '{"external-id":"x"}', '{"external-id":"../images"}', '{"id":"0e5b1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4"}'])(
    'provider-image-delete refuses %p as BAD_REQUEST',
    (data) => expect(() => parseProviderDeleteRequest(bytes(data))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' })),
  );

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
