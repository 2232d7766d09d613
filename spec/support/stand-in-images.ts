import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/util/log.ts';
import type { ImageRecord } from '../../src/images/image-record.ts';
import { ImageRepository } from '../../src/images/repository.ts';

/**
 * Commits `ids` into the repository under imagesDir the way a build leaves them, each with a
 * 14-byte stand-in qcow2: for tests and benches that need many images but never read them.
 */
export async function seedStandInImages(imagesDir: string, ids: Iterable<string>): Promise<void> {
  const repository = new ImageRepository(imagesDir, silentLogger);
  await repository.recover();
  const now = new Date().toISOString();
  for (const id of ids) {
    const staging = await repository.stage(id);
    writeFileSync(join(staging.dir, 'tiny.qcow2'), 'QFI\xfb stand-in', 'latin1');
    const record: ImageRecord = {
      id,
      name: 'tiny',
      formats: { qcow2: { file: 'tiny.qcow2', size: 14, md5: '0'.repeat(32), sha256: '0'.repeat(64) } },
      build: { builder: 'command', builderVersion: undefined, host: 'test', started: now, finished: now, log: '' },
    };
    await repository.commit(staging, record);
  }
}
