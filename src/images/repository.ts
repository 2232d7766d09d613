import { errorCode, oneLine } from '../errors/thrown.ts';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JobFailure } from '../errors/job-failure.ts';
import type { Logger } from '../util/log.ts';
import { isImageId } from './image-id.ts';
import { type ImageRecord, isImageRecord } from './image-record.ts';
import { recordProcessGroup, stopRecordedBuilds } from './stray-processes.ts';

export const METADATA_FILE = 'metadata.json';

/** A build's private directory; nothing in it is visible until `commit`. */
export interface Staging {
  readonly id: string;
  readonly dir: string;
}

/**
 * The local image repository under images-dir:
 *   images/<id>/   complete images, each with its metadata.json
 *   staging/<id>/  builds in progress; they become images only by an atomic rename
 *   staging/.<id>.<pgid>.pgroup  the process group of a build command while it runs
 *   trash/         images being deleted (renamed away first, so a half-deleted image is never served)
 * After a crash, staging/ and trash/ hold only leftovers, and recover() removes them.
 */
export class ImageRepository {
  readonly imagesDir: string;
  readonly stagingDir: string;
  readonly trashDir: string;
  private readonly records = new Map<string, ImageRecord>();
  /** Ids staged by this process and not yet committed or discarded: builds in progress. */
  private readonly building = new Set<string>();

  constructor(
    readonly root: string,
    private readonly logger: Logger,
  ) {
    this.imagesDir = join(root, 'images');
    this.stagingDir = join(root, 'staging');
    this.trashDir = join(root, 'trash');
  }

  /** Creates the layout, removes leftovers of crashed builds and deletes, and loads every complete image. */
  async recover(): Promise<ImageRecord[]> {
    await Promise.all([this.imagesDir, this.stagingDir, this.trashDir].map((dir) => mkdir(dir, { recursive: true })));
    // Only the build processes an earlier life of this builder recorded: never anything else.
    await stopRecordedBuilds(this.stagingDir, this.logger);
    for (const leftover of await readdir(this.stagingDir)) {
      this.logger.warn(`removing the unfinished build ${leftover} left in ${this.stagingDir}`);
      await rm(join(this.stagingDir, leftover), { recursive: true, force: true });
    }
    for (const leftover of await readdir(this.trashDir)) {
      await rm(join(this.trashDir, leftover), { recursive: true, force: true });
    }
    return this.load();
  }

  /** Loads every complete image without changing anything on disk. */
  async load(): Promise<ImageRecord[]> {
    this.records.clear();
    const ids = await readdir(this.imagesDir).catch(() => [] as string[]);
    for (const id of ids.sort()) {
      const record = await this.readRecord(id);
      if (record) this.records.set(id, record);
    }
    return this.list();
  }

  list(): ImageRecord[] {
    return [...this.records.values()];
  }

  get(id: string): ImageRecord | undefined {
    return this.records.get(id);
  }

  /** Absolute path of one of an image's files. */
  pathOf(id: string, file: string): string {
    if (!isImageId(id) || file.includes('/') || file.startsWith('.')) throw new TypeError(`bad image file ${id}/${file}`);
    return join(this.imagesDir, id, file);
  }

  /**
   * Claims an id for a new build. Fails with "image id exists" when the id is already an
   * image or another build's staging directory: an image is never overwritten.
   */
  async stage(id: string): Promise<Staging> {
    if (!isImageId(id)) throw new JobFailure('BAD_REQUEST', `invalid image id ${JSON.stringify(id)}`);
    const dir = join(this.stagingDir, id);
    if (this.records.has(id) || (await exists(join(this.imagesDir, id)))) {
      throw new JobFailure('IMAGE_EXISTS', `image id exists: ${id}`);
    }
    try {
      await mkdir(dir); // not recursive: EEXIST is the lock against a concurrent build of the same id
    } catch (err) {
      if (errorCode(err) === 'EEXIST') throw new JobFailure('IMAGE_EXISTS', `image id exists: ${id} (building)`);
      throw err;
    }
    this.building.add(id);
    return { id, dir };
  }

  /**
   * Records the process group of a command the build of `staging` runs, so a restart after a
   * crash can stop it; the returned function forgets it once the group is gone.
   */
  recordProcessGroup(staging: Staging, pgid: number): () => void {
    return recordProcessGroup(this.stagingDir, staging.id, pgid);
  }

  /** A build of this id is in progress here (staged, neither committed nor discarded yet). */
  isBuilding(id: string): boolean {
    return this.building.has(id);
  }

  /** Writes the metadata and makes the build visible with one atomic rename. */
  async commit(staging: Staging, record: ImageRecord): Promise<void> {
    await writeDurably(join(staging.dir, METADATA_FILE), JSON.stringify(record, null, 2));
    await rename(staging.dir, join(this.imagesDir, staging.id));
    this.records.set(staging.id, record);
    this.building.delete(staging.id);
  }

  async discard(staging: Staging): Promise<void> {
    await rm(staging.dir, { recursive: true, force: true });
    this.building.delete(staging.id);
  }

  /** Rewrites an image's metadata (after a conversion added a format), atomically. */
  async update(record: ImageRecord): Promise<void> {
    if (!this.records.has(record.id)) throw new JobFailure('UNKNOWN_IMAGE', `no image ${record.id}`);
    const path = this.pathOf(record.id, METADATA_FILE);
    await writeDurably(`${path}.tmp`, JSON.stringify(record, null, 2));
    await rename(`${path}.tmp`, path);
    this.records.set(record.id, record);
  }

  /** Deletes every file of an image. Deleting an image that is not there succeeds. */
  async delete(id: string): Promise<boolean> {
    if (!isImageId(id)) throw new JobFailure('BAD_REQUEST', `invalid image id ${JSON.stringify(id)}`);
    this.records.delete(id);
    const trash = join(this.trashDir, `${id}.${randomBytes(4).toString('hex')}`);
    try {
      await rename(join(this.imagesDir, id), trash);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
    await rm(trash, { recursive: true, force: true });
    return true;
  }

  private async readRecord(id: string): Promise<ImageRecord | undefined> {
    if (!isImageId(id)) {
      this.logger.warn(`ignoring ${join(this.imagesDir, id)}: not an image id`);
      return undefined;
    }
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.imagesDir, id, METADATA_FILE), 'utf8'));
      if (isImageRecord(parsed, id)) return parsed;
      this.logger.warn(`ignoring image ${id}: its ${METADATA_FILE} is not valid`);
    } catch (err) {
      this.logger.warn(`ignoring image ${id}: cannot read its ${METADATA_FILE} (${oneLine(err)})`);
    }
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes and fsyncs a file, so a crash right after a rename never exposes an empty one. */
async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
