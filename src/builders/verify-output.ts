import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JobFailure } from '../errors/job-failure.ts';
import { inspectDiskImage } from '../images/disk-image-inspection.ts';
import type { ImageFile } from '../images/image-record.ts';

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // "QFI\xfb"

/**
 * Checks one output file of a build and returns its record: it must exist, be a non-empty
 * regular file, a qcow2 must start with the qcow2 magic, and a disk image must be in its
 * format and refer to no other file (inspectDiskImage). Checksums come from the builder's
 * .md5/.sha256 files when it wrote them (DIB --checksum), and are computed otherwise.
 */
export async function verifyOutput(dir: string, file: string, format: string, options: { qemuImg?: string } = {}): Promise<ImageFile> {
  const path = join(dir, file);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new JobFailure('MISSING_OUTPUT', `the build did not write ${file}`);
  if (info.size === 0) throw new JobFailure('MISSING_OUTPUT', `the build wrote an empty ${file}`);
  if (format === 'qcow2' && !(await startsWith(path, QCOW2_MAGIC))) {
    throw new JobFailure('BAD_OUTPUT', `${file} is not a qcow2 image`);
  }
  await inspectDiskImage(path, format, { label: file, ...options });
  const [md5, sha256] = await Promise.all([checksumFile(`${path}.md5`), checksumFile(`${path}.sha256`)]);
  const sums = md5 && sha256 ? { md5, sha256 } : await hashFile(path);
  return { file, size: info.size, ...sums };
}

async function startsWith(path: string, magic: Buffer): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(magic.length);
    await handle.read(head, 0, magic.length, 0);
    return head.equals(magic);
  } finally {
    await handle.close();
  }
}

/** DIB's checksum files hold "<hex>  <absolute path>": only the first field counts. */
async function checksumFile(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const first = text?.trim().split(/\s+/)[0];
  return first && /^[0-9a-f]{32,128}$/.test(first) ? first : undefined;
}

export async function hashFile(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}
