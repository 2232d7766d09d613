import { describe, expect, test } from 'bun:test';
import { checkDeleteRequest, parseBuildRequest, parseUploadRequest } from '../../src/worker/jobs.ts';

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
