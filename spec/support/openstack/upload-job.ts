import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderConfig } from '../../../src/config/schema.ts';
import type { UploadJob } from '../../../src/uploaders/uploader.ts';

export interface TestImageFile {
  readonly path: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
}

/** A file of random bytes, written in 1 MiB pieces, with its md5 and sha256. */
export async function randomImageFile(dir: string, size: number, name = 'disk.raw'): Promise<TestImageFile> {
  const path = join(dir, name);
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < size; ) {
      const chunk = randomBytes(Math.min(1 << 20, size - written));
      md5.update(chunk);
      sha256.update(chunk);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { path, size, md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

export function testProvider(overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'test-provider',
    cloud: 'noauth',
    region: undefined,
    imageFormat: 'raw',
    imageNameFormat: '{image_name}-{timestamp}',
    uploadTimeoutMs: 120_000,
    uploadMethod: 'put',
    uploadHashing: 'auto',
    visibility: 'private',
    minDisk: undefined,
    minRam: undefined,
    meta: {},
    diskimages: undefined,
    ...overrides,
  };
}

export interface TestUploadJob extends UploadJob {
  /** Every progress(sent, total) call. */
  readonly progressed: Array<readonly [number, number]>;
}

export function uploadJob(
  file: TestImageFile,
  provider: ProviderConfig,
  options: { imageName?: string; imageId?: string; signal?: AbortSignal; onProgress?: (sent: number) => void } = {},
): TestUploadJob {
  const progressed: Array<readonly [number, number]> = [];
  const format = provider.imageFormat;
  return {
    imageId: options.imageId ?? `img-${randomBytes(4).toString('hex')}`,
    provider,
    imageName: options.imageName ?? `test-${randomBytes(4).toString('hex')}`,
    path: file.path,
    format,
    size: file.size,
    md5: file.md5,
    sha256: file.sha256,
    signal: options.signal ?? AbortSignal.timeout(provider.uploadTimeoutMs),
    progressed,
    progress(sent, total) {
      progressed.push([sent, total]);
      options.onProgress?.(sent);
    },
  };
}
