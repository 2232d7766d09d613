import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRecord } from '../../../src/images/image-record.ts';
import type { ImageRepository } from '../../../src/images/repository.ts';
import { run } from '../run.ts';
import { randomImageFile } from './upload-job.ts';

async function qemuImg(...args: string[]): Promise<string> {
  const result = await run('qemu-img', args, '', 120_000);
  if (result.code !== 0) throw new Error(`qemu-img ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** `qemu-img info --output=json` of a file, optionally with the format forced. */
export async function qemuImgInfo(path: string, format?: string): Promise<{ format: string; 'virtual-size': number }> {
  return JSON.parse(await qemuImg('info', '--output=json', ...(format ? ['-f', format] : []), path)) as { format: string; 'virtual-size': number };
}

/**
 * Puts a built image into the repository the way a build does (stage, then commit): a qcow2
 * named tiny.qcow2. With `randomBytes` its disk holds that many random bytes (made as raw and
 * converted); without, it is an empty disk from `qemu-img create`. Returns the record and the
 * md5 of the disk's raw contents.
 */
export async function seedQcow2Image(
  repository: ImageRepository,
  id: string,
  options: { virtualSize?: number; randomBytes?: number } = {},
): Promise<{ record: ImageRecord; rawMd5: string | undefined }> {
  const staging = await repository.stage(id);
  const qcow2 = join(staging.dir, 'tiny.qcow2');
  let rawMd5: string | undefined;
  if (options.randomBytes !== undefined) {
    const raw = await randomImageFile(staging.dir, options.randomBytes, 'source.raw');
    await qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw.path, qcow2);
    await rm(raw.path);
    rawMd5 = raw.md5;
  } else {
    await qemuImg('create', '-q', '-f', 'qcow2', qcow2, String(options.virtualSize ?? 16 * 1024 * 1024));
  }
  const bytes = await readFile(qcow2);
  const record: ImageRecord = {
    id,
    name: 'tiny',
    formats: {
      qcow2: {
        file: 'tiny.qcow2',
        size: bytes.length,
        md5: createHash('md5').update(bytes).digest('hex'),
        sha256: createHash('sha256').update(bytes).digest('hex'),
      },
    },
    build: { builder: 'command', builderVersion: undefined, host: 'test', started: new Date().toISOString(), finished: new Date().toISOString(), log: '' },
  };
  await repository.commit(staging, record);
  return { record, rawMd5 };
}
