import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { HashingFile } from '../../src/uploaders/hashing-file.ts';
import { HttpClient } from '../../src/uploaders/openstack/http.ts';
import { silentLogger } from '../../src/util/log.ts';
import { randomImageFile } from '../support/openstack/upload-job.ts';

describe('HashingFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashing-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const drain = async (file: HashingFile) => {
    const parts: Uint8Array[] = [];
    // Chunks live in reused buffers: keep copies.
    for await (const chunk of file.chunks()) parts.push(Buffer.from(chunk));
    return Buffer.concat(parts);
  };

  test('the digests are complete when the last chunk goes out, so a consumer that stops there still has them', async () => {
    const source = await randomImageFile(dir, 1_000_001, 'last.raw');
    const file = new HashingFile({ path: source.path, size: source.size, algorithms: ['md5', 'sha256'], chunkSize: 262_144 });
    let received = 0;
    // Like an HTTP body whose server answered as soon as it had every byte: no request for the end.
    for await (const chunk of file.chunks()) {
      received += chunk.length;
      if (received === source.size) break;
    }
    expect(file.digests()).toEqual({ md5: source.md5, sha256: source.sha256 });
  });

  test('streams the file in chunks, hashing md5, sha256 and sha512 on the way, with progress', async () => {
    const source = await randomImageFile(dir, 3_000_003, 'a.raw');
    const progress: number[] = [];
    const file = new HashingFile({ path: source.path, size: source.size, algorithms: ['md5', 'sha256', 'sha512'], chunkSize: 262_144, onProgress: (n) => progress.push(n) });
    const bytes = await drain(file);
    expect(bytes.equals(await readFile(source.path))).toBe(true);
    expect(file.digests()).toEqual({
      md5: source.md5,
      sha256: source.sha256,
      sha512: createHash('sha512').update(bytes).digest('hex'),
    });
    expect(progress).toHaveLength(Math.ceil(source.size / 262_144));
    expect(progress.at(-1)).toBe(source.size);
  });

  test('each pass starts over with fresh hashes (a retried upload)', async () => {
    const source = await randomImageFile(dir, 600_000, 'b.raw');
    const file = new HashingFile({ path: source.path, size: source.size, algorithms: ['md5'], chunkSize: 262_144 });
    const iterator = file.chunks();
    await iterator.next(); // the first of three chunks: the pass stops before the end
    await iterator.return(undefined);
    expect(file.digests()).toBeUndefined();
    await drain(file);
    expect(file.digests()).toEqual({ md5: source.md5 });
  });

  test('a file that grew or shrank since the build is LOCAL_FILE_CHANGED', async () => {
    const source = await randomImageFile(dir, 10_000, 'c.raw');
    await appendFile(source.path, 'more');
    const grown = await drain(new HashingFile({ path: source.path, size: source.size, algorithms: [] })).catch((e: unknown) => e);
    expect(grown).toBeInstanceOf(JobFailure);
    expect((grown as JobFailure).message).toContain('has 10004 bytes, not 10000');
    const shrunk = await drain(new HashingFile({ path: source.path, size: 20_000, algorithms: [] })).catch((e: unknown) => e);
    expect((shrunk as JobFailure).code).toBe('LOCAL_FILE_CHANGED');
  });

  test('a slow reader (backpressure all the way) still gets every byte intact from the reused buffers', async () => {
    const source = await randomImageFile(dir, 24 * 1024 * 1024 + 5, 'slow.raw');
    const server = createServer((req, res) => {
      const md5 = createHash('md5');
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        md5.update(chunk);
        // Stall now and then, so the socket fills and undici must wait for 'drain'.
        if ((seen += chunk.length) % (4 * 1024 * 1024) < chunk.length) {
          req.pause();
          setTimeout(() => req.resume(), 20);
        }
      });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ md5: md5.digest('hex') })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const http = await HttpClient.create({ verify: true }, silentLogger);
    try {
      const file = new HashingFile({ path: source.path, size: source.size, algorithms: ['md5'], chunkSize: 256 * 1024 });
      const response = await http.send({
        method: 'PUT',
        url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`,
        body: { length: source.size, stream: () => file.chunks() },
        signal: AbortSignal.timeout(30_000),
      });
      expect(response.body).toEqual({ md5: source.md5 });
      expect(file.digests()).toEqual({ md5: source.md5 });
    } finally {
      await http.close();
      server.close();
    }
  });
});
