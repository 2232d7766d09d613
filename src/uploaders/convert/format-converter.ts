import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { JobFailure } from '../../errors/job-failure.ts';
import { QEMU_FORMATS, inspectDiskImage } from '../../images/disk-image-inspection.ts';
import type { Logger } from '../../util/log.ts';
import type { ImageFile, ImageRecord } from '../../images/image-record.ts';
import type { ImageRepository } from '../../images/repository.ts';
import { HashingFile } from '../hashing-file.ts';
import { QEMU_TARGETS, qemuImgConvert } from './qemu-img.ts';

/** Makes the file a provider needs (converting when the build did not make that format). */
export type FormatPreparer = (image: ImageRecord, format: string, signal: AbortSignal) => Promise<ImageRecord>;

export interface FormatConverterOptions {
  /** The repository the BuilderWorker serves from (the same instance). */
  readonly repository: ImageRepository;
  readonly logger: Logger;
  readonly qemuImg?: string;
}

/** Formats qemu-img reads, best source first (raw is the cheapest to read). */
const SOURCES: readonly string[] = ['raw', 'qcow2', 'vhdx', 'vmdk', 'vhd'];

interface Conversion {
  readonly promise: Promise<ImageRecord>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * The BuilderWorker's prepareFormat hook: makes the file a provider needs with qemu-img when
 * the build did not, once per image and format. The result lands in the image's directory and
 * in its metadata (converted: true), so later uploads reuse it and image-delete removes it.
 * Concurrent uploads needing the same file share one qemu-img run, which stops only when every
 * one of them has given up. qemu-img writes under staging/, so a crash leaves nothing that
 * recovery does not clean.
 */
export function createFormatConverter(options: FormatConverterOptions): FormatPreparer {
  const { logger, repository } = options;
  const running = new Map<string, Conversion>();
  const updates = new Map<string, Promise<unknown>>();

  /** Adds a format to an image's metadata; updates of one image run one after another. */
  const recordFormat = (id: string, format: string, file: ImageFile): Promise<ImageRecord> => {
    const next = (updates.get(id) ?? Promise.resolve()).then(async () => {
      const current = repository.get(id);
      if (!current) throw new JobFailure('UNKNOWN_IMAGE', `image ${id} went away during its conversion to ${format}`);
      const record: ImageRecord = { ...current, formats: { ...current.formats, [format]: file } };
      await repository.update(record);
      return record;
    });
    const settled = next.catch(() => undefined);
    updates.set(id, settled);
    void settled.then(() => updates.get(id) === settled && updates.delete(id));
    return next;
  };

  const convert = async (image: ImageRecord, format: string, signal: AbortSignal): Promise<ImageRecord> => {
    const target = QEMU_TARGETS[format];
    if (!target) throw new JobFailure('NO_FORMAT', `cannot convert to ${format}: qemu-img targets are ${Object.keys(QEMU_TARGETS).join(', ')}`);
    const sourceFormat = SOURCES.find((f) => image.formats[f]);
    if (!sourceFormat) {
      throw new JobFailure('NO_FORMAT', `image ${image.id} has no disk image qemu-img can read (it has ${Object.keys(image.formats).join(', ')})`);
    }
    const sourceFile = image.formats[sourceFormat]!;
    const taken = new Set(Object.values(image.formats).map((f) => f.file));
    const stem = basename(sourceFile.file, extname(sourceFile.file));
    const fileName = taken.has(`${stem}.${format}`) ? `${stem}.converted.${format}` : `${stem}.${format}`;
    // Not a valid image id (leading "."), so no build can ever claim this staging name.
    const workDir = join(repository.stagingDir, `.convert-${image.id}-${format}-${randomBytes(4).toString('hex')}`);
    const started = Date.now();
    logger.info(`converting image ${image.id} from ${sourceFormat} to ${format}`);
    await mkdir(workDir, { recursive: true });
    try {
      const partial = join(workDir, fileName);
      const input = repository.pathOf(image.id, sourceFile.file);
      // Again here, not only at build time: the file may predate that check, and qemu-img convert follows references.
      await inspectDiskImage(input, sourceFormat, { label: `${sourceFile.file} of image ${image.id}`, signal, ...(options.qemuImg ? { qemuImg: options.qemuImg } : {}) });
      await qemuImgConvert({
        qemuImg: options.qemuImg ?? 'qemu-img',
        input,
        inputFormat: QEMU_FORMATS[sourceFormat]!,
        output: partial,
        target,
        signal,
      });
      const { size } = await stat(partial);
      const hasher = new HashingFile({ path: partial, size, algorithms: ['md5', 'sha256'] });
      for await (const _ of hasher.chunks()) if (signal.aborted) throw signal.reason;
      const digests = hasher.digests()!;
      await rename(partial, repository.pathOf(image.id, fileName));
      const record = await recordFormat(image.id, format, { file: fileName, size, md5: digests.md5!, sha256: digests.sha256!, converted: true });
      logger.info(`converted image ${image.id} to ${format} (${fileName}, ${size} bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return record;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  };

  return (image, format, signal) => {
    const current = repository.get(image.id) ?? image;
    if (current.formats[format]) return Promise.resolve(current);
    if (signal.aborted) return Promise.reject(signal.reason);
    const key = `${image.id}\0${format}`;
    let conversion = running.get(key);
    if (!conversion) {
      const controller = new AbortController();
      const promise = convert(current, format, controller.signal).finally(() => running.delete(key));
      promise.catch(() => undefined); // each waiter gets the failure through its own promise
      conversion = { promise, controller, waiters: 0 };
      running.set(key, conversion);
    }
    const shared = conversion;
    shared.waiters++;
    return new Promise<ImageRecord>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        signal.removeEventListener('abort', onAbort);
        if (--shared.waiters === 0 && signal.aborted) shared.controller.abort(signal.reason);
      };
      const onAbort = () => {
        leave();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (record) => {
          leave();
          resolve(record);
        },
        (err: unknown) => {
          leave();
          reject(err);
        },
      );
    });
  };
}
