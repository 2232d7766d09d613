import { oneLine, toError } from '../../errors/thrown.ts';
import { randomUUID } from 'node:crypto';
import { JobFailure } from '../../errors/job-failure.ts';
import { inspectDiskImage } from '../../images/disk-image-inspection.ts';
import type { Logger } from '../../util/log.ts';
import { logValue } from '../../util/log-text.ts';
import type { ImageService } from '../openstack/cloud-session.ts';
import { CreateNeverSentError, GlanceClient, type GlanceImage, type UploadData } from './images-api.ts';
import { type HashAlgorithm, HashingFile, hashWholeFile } from '../hashing-file.ts';
import { type Verification, verifyAgainstRecord } from './image-verification.ts';
import { backoffDelay, DEFAULT_RETRY, isTransient, type RetryPolicy, sleep } from '../openstack/retry.ts';
import { toUploadFailure } from './upload-failure.ts';
import { HttpStatusError } from '../openstack/errors.ts';
import type { UploadJob, UploadResult, Uploader } from '../uploader.ts';

export interface GlanceUploaderOptions {
  /**
   * What in-stream hashing computes while the file streams out (upload-hashing = "in-stream", or
   * a cloud that returned no checksum): md5 and sha256 are checked against the build's record.
   */
  readonly hashes?: readonly HashAlgorithm[];
  readonly retry?: RetryPolicy;
  /** How long deleting the image of a failed upload may take after the job's own time (default CLEANUP_TIMEOUT_MS). */
  readonly cleanupTimeoutMs?: number;
  readonly importPollMs?: number;
  readonly chunkSize?: number;
  /** Tags every image as this builder's (BUILDER_PROPERTY), so the startup janitor finds its own leftovers. */
  readonly builderId?: string;
  /** The qemu-img that inspects each file before it goes out (default: qemu-img on PATH). */
  readonly qemuImg?: string;
}

/** The image property naming the builder (its client-id) that created the image. */
export const BUILDER_PROPERTY = 'nodepool_builder';
/** The image property naming the local image (build) id the image was uploaded from. */
export const BUILD_ID_PROPERTY = 'nodepool_build_id';
/** The image property naming the provider the image was uploaded for (providers may share one Glance). */
export const PROVIDER_PROPERTY = 'nodepool_provider_name';
/** The image property naming the scheduler's upload record (the job's "upload-id"). */
export const UPLOAD_ID_PROPERTY = 'nodepool_upload_id';
/** The image property naming the scheduler's system (the job's "system-id"). */
export const SYSTEM_ID_PROPERTY = 'nodepool_system_id';

/**
 * When hashing in-stream: md5 and sha256 check the bytes sent against the build's record.
 * sha512 would also check an os_hash_value the record cannot, but costs about 12 % of the
 * throughput into Glance on a 2-core host (bench:upload): opt in with hashes: ['md5', 'sha256', 'sha512'].
 */
export const DEFAULT_HASHES: readonly HashAlgorithm[] = ['md5', 'sha256'];
/**
 * The cleanup after a failed upload runs after upload-timeout (which may be what failed it), so
 * it has a short bound of its own: 30 s. Its tries back off up to 5 s and spread over about 20 s, so
 * a glance-api restart (the usual cause of a failed upload) is ridden out and the image does not
 * wait for the next start. An image it could not delete is still tagged as this builder's, and
 * the sweep at the next start removes it.
 */
export const CLEANUP_TIMEOUT_MS = 30_000;
export const CLEANUP_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 500, maxDelayMs: 5_000 };

/**
 * Uploads one image to one provider's Glance: create (with a client-chosen id) → PUT the file
 * or stage + glance-direct import → verify size and checksums. Whatever goes wrong after the
 * create, the image is deleted again: a failed job leaves no image behind.
 *
 * Verification compares what Glance computed of what it stored with the build's record, which
 * proves more than hashing what was read here, and costs this host nothing: so by default
 * (upload-hashing = "auto") the file streams out unhashed. The file is hashed in-stream when the
 * provider says "in-stream", or when this provider's cloud last stored an image without a
 * checksum the record could be compared with. A cloud found so after an unhashed upload gets the
 * file read and hashed again, compared with the record, before the upload counts as done.
 */
export class GlanceUploader implements Uploader {
  private readonly hashes: readonly HashAlgorithm[];
  private readonly retry: RetryPolicy;
  /** The last verification found no checksum from the cloud to compare: "auto" then hashes in-stream. */
  private cloudGaveNoChecksum = false;

  constructor(
    private readonly service: () => Promise<ImageService>,
    private readonly logger: Logger,
    private readonly options: GlanceUploaderOptions = {},
  ) {
    this.hashes = options.hashes ?? DEFAULT_HASHES;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  async upload(job: UploadJob): Promise<UploadResult> {
    const what = `upload of image ${job.imageId} (${job.format}) as ${logValue(job.imageName)}`;
    const context = { what, cloud: job.provider.cloud ?? '(OS_CLOUD)', signal: job.signal, timeoutMs: job.provider.uploadTimeoutMs };
    let glance: GlanceClient | undefined;
    const id = job.externalId ?? randomUUID();
    try {
      const inStream = job.provider.uploadHashing === 'in-stream' || this.cloudGaveNoChecksum;
      const file = new HashingFile({
        path: job.path,
        size: job.size,
        algorithms: inStream ? this.hashes : [],
        onProgress: (sent) => job.progress(sent, job.size),
        ...(this.options.chunkSize ? { chunkSize: this.options.chunkSize } : {}),
      });
      // The local file first: one we cannot read fails at once, with nothing in the cloud to clean up.
      await file.check();
      // Before anything reaches the cloud: a file that refers to host files never leaves this host.
      await inspectDiskImage(job.path, job.format, {
        label: `the ${job.format} file of image ${job.imageId}`,
        signal: job.signal,
        ...(this.options.qemuImg ? { qemuImg: this.options.qemuImg } : {}),
      });
      const service = await this.service();
      context.cloud = service.cloud.name; // the provider may leave the choice to OS_CLOUD
      // Credentials and the endpoint first: a cloud we cannot reach gets no image to clean up.
      await service.endpoint(job.signal);
      glance = new GlanceClient(service, this.logger, this.retry);
      const data: UploadData = { length: job.size, stream: () => file.chunks() };
      const created = await glance.create(imageFields(job, id, this.options.builderId), job.signal).catch((err: unknown) => {
        if (err instanceof CreateNeverSentError) glance = undefined; // nothing reached the cloud: nothing to clean up
        if (!(job.externalId !== undefined && err instanceof HttpStatusError && err.status === 409)) throw err;
        glance = undefined; // the image with that id is not this job's: never clean it up
        throw new JobFailure('EXTERNAL_ID_TAKEN', `EXTERNAL_ID_TAKEN: cloud "${context.cloud}" already has (or had) an image ${id}; the ${what} did not start`, { cause: err });
      });
      this.logger.info(`${what}: created ${id} in cloud "${context.cloud}"`);
      const started = Date.now();
      if (job.provider.uploadMethod === 'import') await this.importData(glance, created.importMethods, id, data, job);
      else await this.sendData(glance, id, 'file', data, job.signal);
      const seconds = Math.max(Date.now() - started, 1) / 1000;
      const hashed = inStream ? `, hashing ${this.hashes.join('+') || 'nothing'} in-stream` : '';
      this.logger.debug(`${what}: sent ${job.size} bytes in ${seconds.toFixed(1)} s (${(job.size / seconds / 1e6).toFixed(0)} MB/s${hashed})`);
      const image = await this.verified(glance, id, file, job);
      return {
        externalId: id,
        extras: { checksum: image.checksum ?? job.md5, sha256: job.sha256, size: image.size, format: job.format },
      };
    } catch (err) {
      const failure = toUploadFailure(err, context);
      if (glance) await this.cleanup(glance, id, context.cloud);
      throw failure;
    }
  }

  /** PUT (or stage) the data; an interrupted transfer is tried again while Glance still holds the image queued. */
  private async sendData(glance: GlanceClient, id: string, target: 'file' | 'stage', data: UploadData, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await glance.putData(id, target, data, signal);
        return;
      } catch (err) {
        if (signal.aborted || attempt >= this.retry.attempts || !isTransient(err)) throw err;
        const delay = backoffDelay(this.retry, attempt);
        this.logger.warn(`${target} upload of ${id} broke off (${oneLine(err)}); looking at the image before try ${attempt + 1} in ${delay} ms`);
        await sleep(delay, signal);
        const image = await glance.get(id, signal);
        if (target === 'file' && image.status === 'active') return; // it got there; only the answer was lost
        if (image.status !== 'queued') {
          throw new JobFailure('UPLOAD_INTERRUPTED', `${target} upload of ${id} broke off (${toError(err).message}) and left the image ${image.status}`, {
            cause: err,
          });
        }
      }
    }
  }

  private async importData(
    glance: GlanceClient,
    advertised: readonly string[] | undefined,
    id: string,
    data: UploadData,
    job: UploadJob,
  ): Promise<void> {
    const methods = advertised ?? (await glance.importMethods(job.signal));
    if (!methods.includes('glance-direct')) {
      throw new JobFailure('IMPORT_UNSUPPORTED', `cloud "${glance.cloudName}" offers no glance-direct import (it offers: ${methods.join(', ') || 'none'})`);
    }
    await this.sendData(glance, id, 'stage', data, job.signal);
    await glance.startImport(id, 'glance-direct', job.signal);
    const pollMs = this.options.importPollMs ?? 1_000;
    for (;;) {
      const image = await glance.get(id, job.signal);
      if (image.status === 'active') return;
      const failedStores = image.fields.os_glance_failed_import;
      if (['killed', 'deleted', 'deactivated'].includes(image.status) || (typeof failedStores === 'string' && failedStores !== '' && image.status !== 'importing')) {
        throw new JobFailure('IMPORT_FAILED', `Glance's import of ${id} failed (status ${image.status}${failedStores ? `, failed stores: ${String(failedStores)}` : ''})`);
      }
      await sleep(pollMs, job.signal);
    }
  }

  /**
   * The image is active, and Glance's size and checksums agree with the build's record (and with
   * what was read, when it was hashed). A cloud that computed nothing comparable after an
   * unhashed upload gets the file hashed once more: what was read cannot be hashed after the
   * fact, but a file that still hashes to the record after the upload was the record's during it.
   */
  private async verified(glance: GlanceClient, id: string, file: HashingFile, job: UploadJob): Promise<GlanceImage> {
    const image = await glance.get(id, job.signal);
    const sent = file.digests();
    let verification: Verification = verifyAgainstRecord(image, job, sent && { digests: sent, label: 'the file sent' });
    if (!verification.cloudCompared && !verification.readCompared) {
      this.logger.warn(
        `cloud "${glance.cloudName}" stored image ${id} without a checksum to compare: hashing ${job.path} again to check it against the build's record; ` +
          `this provider's next uploads hash in-stream (upload-hashing = "in-stream" makes that the rule)`,
      );
      const reread = await hashWholeFile(job.path, job.size, ['md5', 'sha256'], job.signal);
      verification = verifyAgainstRecord(image, job, { digests: reread, label: 'the file read again after the upload' });
    }
    this.cloudGaveNoChecksum = !verification.cloudCompared;
    if (verification.problems.length > 0) throw new JobFailure('VERIFY_FAILED', `image ${id} did not verify: ${verification.problems.join('; ')}`);
    return image;
  }

  private async cleanup(glance: GlanceClient, id: string, cloud: string): Promise<void> {
    const timeoutMs = this.options.cleanupTimeoutMs ?? CLEANUP_TIMEOUT_MS;
    try {
      const deleted = await glance.delete(id, AbortSignal.timeout(timeoutMs), CLEANUP_RETRY);
      if (deleted) this.logger.info(`deleted image ${id} of the failed upload from cloud "${cloud}"`);
    } catch (err) {
      const after = this.options.builderId === undefined ? 'delete it by hand' : 'unless it is active, the sweep at the next start deletes it; or delete it by hand';
      this.logger.error(`image ${id} of a failed upload is still in cloud "${cloud}" (${oneLine(err)}): ${after}`);
    }
  }
}

/** POST /v2/images body: the provider's settings, the operator's meta, then the keys nodepool and openstacksdk set. */
export function imageFields(job: UploadJob, id: string, builderId?: string): Record<string, unknown> {
  const { provider } = job;
  return {
    ...provider.meta,
    id,
    name: job.imageName,
    disk_format: job.format,
    container_format: 'bare',
    visibility: provider.visibility,
    ...(provider.minDisk !== undefined ? { min_disk: provider.minDisk } : {}),
    ...(provider.minRam !== undefined ? { min_ram: provider.minRam } : {}),
    [BUILD_ID_PROPERTY]: job.imageId,
    [PROVIDER_PROPERTY]: provider.name,
    ...(job.uploadId !== undefined ? { [UPLOAD_ID_PROPERTY]: job.uploadId } : {}),
    ...(job.systemId !== undefined ? { [SYSTEM_ID_PROPERTY]: job.systemId } : {}),
    ...(builderId !== undefined ? { [BUILDER_PROPERTY]: builderId } : {}),
    'owner_specified.openstack.md5': job.md5,
    'owner_specified.openstack.sha256': job.sha256,
    'owner_specified.openstack.object': `images/${job.imageName}`,
  };
}
