import { buildImage } from '../builders/build-image.ts';
import type { ImageBuilder } from '../builders/builder.ts';
import type { BuilderConfig, DiskImageConfig, ProviderConfig } from '../config/schema.ts';
import { AbortReason, abortAfter } from '../errors/abort-reason.ts';
import { JobFailure } from '../errors/job-failure.ts';
import { oneLine } from '../errors/thrown.ts';
import type { ServerAddress } from '../protocol/transport/connect-address.ts';
import { Worker, type WorkerOptions } from '../protocol/worker/worker.ts';
import type { WorkerJob } from '../protocol/worker/worker-job.ts';
import type { FormatPreparer } from '../uploaders/convert/format-converter.ts';
import { formatImageName } from '../uploaders/image-name.ts';
import type { Uploader } from '../uploaders/uploader.ts';
import type { CloudImages } from '../uploaders/cloud-images.ts';
import type { Logger } from '../util/log.ts';
import { logValue } from '../util/log-text.ts';
import { FollowStream } from './follow-stream.ts';
import type { ImageRecord } from '../images/image-record.ts';
import { ImageLocks } from './image-locks.ts';
import {
  BUILDER_LIST_PREFIX,
  BUILD_PREFIX,
  DELETE_PREFIX,
  PROVIDER_DELETE_PREFIX,
  PROVIDER_LIST_PREFIX,
  UPLOAD_PREFIX,
  checkBuilderListRequest,
  checkDeleteRequest,
  jsonResult,
  parseBuildRequest,
  parseProviderDeleteRequest,
  parseProviderListRequest,
  parseUploadRequest,
  uploadProgress,
} from './jobs.ts';
import { pruneBuildLogs } from '../images/log-retention.ts';
import { type Metrics, configuredStatsd } from './metrics.ts';
import type { ImageRepository } from '../images/repository.ts';

export interface BuilderWorkerOptions {
  readonly logger: Logger;
  /** The one repository of this process, shared with the format converter. */
  readonly repository: ImageRepository;
  /** Uploaders by provider name; a provider without one fails its uploads clearly. */
  readonly uploaderFor: (provider: ProviderConfig) => Uploader;
  readonly prepareFormat?: FormatPreparer;
  readonly builders?: Readonly<Record<string, ImageBuilder>>;
  /** Worker connection tuning (backoff, timeouts); the servers come from the config. */
  readonly workerOptions?: Partial<WorkerOptions>;
  readonly deleteTimeoutMs?: number;
  /** statsd by default when the config has [statsd]; nothing otherwise. `run` adds Prometheus with allMetrics. */
  readonly metrics?: Metrics;
  /** The scheduler's cloud operations (provider-image-list/-delete); without it none are served. */
  readonly cloudImages?: CloudImages;
  readonly cloudJobTimeoutMs?: number;
}

/** How long one provider-image-list or -delete may take: a cloud that hangs must not hold a slot. */
export const CLOUD_JOB_TIMEOUT_MS = 10 * 60_000;
/**
 * Cloud jobs have their own connections and slots: a list the scheduler waits on must not
 * queue behind hours of uploads.
 */
const CLOUD_SLOTS = 2;

/**
 * The nodepool-builder worker: registers image-build:<name> for every diskimage it can build,
 * and image-upload:<id> / image-delete:<id> for every image it holds, so uploads and deletes
 * reach the host that has the file.
 */
export class BuilderWorker {
  readonly repository: ImageRepository;
  private config: BuilderConfig;
  private readonly worker: Worker;
  private readonly locks = new ImageLocks();
  private readonly logger: Logger;
  private readonly builds = new AbortController();
  private readonly uploads = new AbortController();
  /** Builds running now, by image id: builder-image-list tells the scheduler which builder took its job. */
  private readonly building = new Map<string, { readonly diskimage: string; readonly startedAt: string }>();
  private readonly metrics: Metrics;
  private metricsTimer: ReturnType<typeof setInterval> | undefined;
  /** Providers whose provider-image-list/-delete this builder has registered. */
  private readonly cloudProviders = new Set<string>();

  constructor(
    config: BuilderConfig,
    private readonly options: BuilderWorkerOptions,
    servers?: readonly ServerAddress[],
  ) {
    this.config = config;
    this.logger = options.logger;
    this.repository = options.repository;
    this.metrics = options.metrics ?? configuredStatsd(config);
    this.worker = new Worker({
      servers: servers ?? config.gearmanServers,
      slots: { build: config.buildWorkers, upload: config.uploadWorkers, ...(options.cloudImages ? { cloud: CLOUD_SLOTS } : {}) },
      clientId: config.clientId,
      logger: this.logger,
      ...options.workerOptions,
    });
  }

  /** Recovers the repository, registers every function and starts taking jobs. */
  async start(): Promise<ImageRecord[]> {
    const images = await this.repository.recover();
    for (const image of this.config.diskimages) this.registerBuild(image);
    for (const image of images) this.registerImage(image.id);
    // On the cloud connections when there are some: a listing must not queue behind hours of builds or uploads.
    this.worker.register(BUILDER_LIST_PREFIX + this.config.clientId, (job) => this.listImages(job), {
      jobClass: this.options.cloudImages ? 'cloud' : 'upload',
    });
    this.worker.start();
    this.metricsTimer = setInterval(() => this.reportWorkerState(), 10_000);
    this.metricsTimer.unref();
    this.logger.info(
      `serving ${this.config.diskimages.length} diskimage(s) and ${images.length} image(s) on ${this.worker.describe()}`,
    );
    return images;
  }

  registered(): string[] {
    return this.worker.registered();
  }

  stats() {
    return this.worker.stats();
  }

  /**
   * Applies a new configuration: diskimages added or removed change the image-build functions;
   * jobs in flight are never interrupted (a removed diskimage's running build finishes and its
   * image is kept). Settings that need new connections are only noted.
   */
  reload(next: BuilderConfig): void {
    const before = new Set(this.config.diskimages.map((d) => d.name));
    const after = new Set(next.diskimages.map((d) => d.name));
    for (const name of before) if (!after.has(name)) this.worker.unregister(BUILD_PREFIX + name);
    this.config = next;
    // A kept diskimage's handler reads its settings from the config at job time: nothing to send for it.
    for (const image of next.diskimages) if (!before.has(image.name)) this.registerBuild(image);
    this.logger.info(`configuration reloaded: ${next.diskimages.length} diskimage(s), ${next.providers.length} provider(s)`);
  }

  /**
   * Serves provider-image-list:<p> and provider-image-delete:<p> for exactly these providers
   * (those whose cloud credentials resolve): only the difference goes to the job servers, since
   * gearmand counts a repeated CAN_DO as one more worker.
   */
  serveClouds(providers: readonly string[]): void {
    if (!this.options.cloudImages) return;
    const next = new Set(providers);
    for (const name of [...this.cloudProviders]) {
      if (next.has(name)) continue;
      this.worker.unregister(PROVIDER_LIST_PREFIX + name);
      this.worker.unregister(PROVIDER_DELETE_PREFIX + name);
      this.cloudProviders.delete(name);
    }
    for (const name of next) {
      if (this.cloudProviders.has(name)) continue;
      this.worker.register(PROVIDER_LIST_PREFIX + name, (job) => this.listCloudImages(job, name), { jobClass: 'cloud' });
      this.worker.register(PROVIDER_DELETE_PREFIX + name, (job) => this.deleteCloudImage(job, name), { jobClass: 'cloud' });
      this.cloudProviders.add(name);
    }
  }

  /**
   * SIGTERM: stop taking jobs, abort builds (DIB is killed and its staging removed), let uploads
   * finish within the grace period, then close.
   */
  async stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    this.builds.abort(new AbortReason('BUILDER_STOPPING', 'the builder is stopping'));
    const abortUploads = setTimeout(() => this.uploads.abort(new AbortReason('SHUTDOWN_GRACE_OVER', 'shutdown grace period is over')), graceMs);
    await this.worker.stop(graceMs + 5_000);
    clearTimeout(abortUploads);
    clearInterval(this.metricsTimer);
    this.metrics.close();
  }

  private reportWorkerState(): void {
    const { busy, reconnects } = this.worker.stats();
    this.metrics.workerState(busy, reconnects);
  }

  private registerBuild(image: DiskImageConfig): void {
    this.worker.register(BUILD_PREFIX + image.name, (job) => this.build(job, image.name), { jobClass: 'build' });
  }

  private registerImage(id: string): void {
    this.worker.register(UPLOAD_PREFIX + id, (job) => this.upload(job, id), { jobClass: 'upload' });
    this.worker.register(DELETE_PREFIX + id, (job) => this.delete(job, id), { jobClass: 'upload' });
  }

  private async build(job: WorkerJob, name: string): Promise<string> {
    const request = parseBuildRequest(job.payload);
    const image = this.config.diskimages.find((d) => d.name === name);
    if (!image) throw new JobFailure('UNKNOWN_IMAGE', `diskimage ${name} is no longer configured here`);
    const follow = request.follow ? new FollowStream((chunk) => void job.data(chunk)) : undefined;
    this.logger.info(`building ${name} as ${request.imageId} (job ${job.handle})`);
    const started = Date.now();
    this.building.set(request.imageId, { diskimage: name, startedAt: new Date(started).toISOString() });
    this.reportWorkerState();
    try {
      const record = await buildImage(
        {
          repository: this.repository,
          logDir: this.config.logDir,
          minFreeSpace: this.config.minFreeSpace,
          host: { elementsPath: this.config.elementsPath, dibImageCache: this.config.dibImageCache },
          logger: this.logger,
          ...(this.options.builders ? { builders: this.options.builders } : {}),
        },
        image,
        request.imageId,
        { signal: this.builds.signal, ...(follow ? { onLine: (line: string) => follow.line(line) } : {}) },
      );
      this.registerImage(record.id);
      this.logger.info(`built ${name} ${record.id}: ${Object.keys(record.formats).join(', ')}`);
      const sizes = Object.fromEntries(Object.entries(record.formats).map(([format, file]) => [format, file.size]));
      this.metrics.buildFinished(name, 0, Date.now() - started, sizes);
      return jsonResult({
        'image-id': record.id,
        diskimage: name,
        builder: this.config.clientId,
        formats: Object.fromEntries(Object.entries(record.formats).map(([f, file]) => [f, { size: file.size, sha256: file.sha256 }])),
      });
    } catch (err) {
      this.metrics.buildFinished(name, 1, Date.now() - started, {});
      throw err;
    } finally {
      this.building.delete(request.imageId);
      follow?.flush();
      await pruneBuildLogs(this.config.logDir, name, this.config.buildLogRetention, this.repository).catch((err: unknown) =>
        this.logger.warn(`pruning build logs of ${name}: ${oneLine(err)}`),
      );
    }
  }

  private async upload(job: WorkerJob, id: string): Promise<string> {
    const request = parseUploadRequest(job.payload);
    const provider = this.config.providers.find((p) => p.name === request.provider);
    if (!provider) throw new JobFailure('UNKNOWN_PROVIDER', `no provider ${logValue(request.provider)} in ${this.config.file}`);
    const release = this.locks.beginUpload(id);
    const started = Date.now();
    let succeeded = false;
    try {
      let image = this.repository.get(id);
      if (!image) throw new JobFailure('UNKNOWN_IMAGE', `image ${id} is not on this host`);
      const timeout = new AbortReason('UPLOAD_TIMEOUT', `upload-timeout (${provider.uploadTimeoutMs} ms) expired`);
      const signal = AbortSignal.any([this.uploads.signal, abortAfter(provider.uploadTimeoutMs, timeout)]);
      if (!image.formats[provider.imageFormat]) {
        if (!this.options.prepareFormat) {
          throw new JobFailure('NO_FORMAT', `image ${id} has no ${provider.imageFormat} file and no converter is configured`);
        }
        image = await this.options.prepareFormat(image, provider.imageFormat, signal);
      }
      const file = image.formats[provider.imageFormat]!;
      const imageName =
        request.imageName ??
        formatImageName(provider.imageNameFormat, { imageName: image.name, imageId: id, provider: provider.name, timestamp: Date.now() });
      let lastStatus = 0;
      let lastSent = -1;
      const result = await this.options.uploaderFor(provider).upload({
        imageId: id,
        provider,
        imageName,
        path: this.repository.pathOf(id, file.file),
        format: provider.imageFormat,
        size: file.size,
        md5: file.md5,
        sha256: file.sha256,
        ...(request.uploadId !== undefined ? { uploadId: request.uploadId } : {}),
        ...(request.systemId !== undefined ? { systemId: request.systemId } : {}),
        ...(request.externalId !== undefined ? { externalId: request.externalId } : {}),
        signal,
        progress: (sentBytes, totalBytes) => {
          const [sent, total] = uploadProgress(sentBytes, totalBytes);
          // Never backwards (a retried transfer starts over from byte 0): nodepool checks it.
          if (sent <= lastSent) return;
          const now = Date.now();
          if (now - lastStatus < 500 && sent < total) return;
          lastStatus = now;
          lastSent = sent;
          void job.status(sent, total);
        },
      });
      this.logger.info(`uploaded ${id} to ${provider.name} as ${result.externalId}`);
      this.metrics.uploadFinished(image.name, provider.name, Date.now() - started, file.size);
      succeeded = true;
      return jsonResult({ 'external-id': result.externalId, ...result.extras });
    } finally {
      if (!succeeded) this.metrics.uploadFailed(this.repository.get(id)?.name, provider.name, Date.now() - started);
      release();
    }
  }

  private cloudJob(providerName: string): { provider: ProviderConfig; images: CloudImages; signal: AbortSignal } {
    const provider = this.config.providers.find((p) => p.name === providerName);
    if (!provider) throw new JobFailure('UNKNOWN_PROVIDER', `no provider ${logValue(providerName)} in ${this.config.file}`);
    const timeoutMs = this.options.cloudJobTimeoutMs ?? CLOUD_JOB_TIMEOUT_MS;
    const timeout = new AbortReason('CLOUD_JOB_TIMEOUT', `the cloud job's time (${timeoutMs} ms) is over`);
    const images = this.options.cloudImages;
    if (!images) throw new JobFailure('NO_HANDLER', 'this builder serves no cloud operations');
    return { provider, images, signal: AbortSignal.any([this.uploads.signal, abortAfter(timeoutMs, timeout)]) };
  }

  private async listCloudImages(job: WorkerJob, providerName: string): Promise<string> {
    const request = parseProviderListRequest(job.payload);
    const { provider, images, signal } = this.cloudJob(providerName);
    const found = await images.list(provider, request, signal);
    this.logger.debug(`listed ${found.length} tagged image(s) in provider ${provider.name}`);
    return jsonResult({
      images: found.map((image) => ({
        'external-id': image.externalId,
        name: image.name,
        status: image.status,
        'upload-id': image.uploadId,
        'build-id': image.buildId,
        'system-id': image.systemId,
        'created-at': image.createdAt,
        builder: image.builder,
        provider: image.provider,
      })),
    });
  }

  /** builder-image-list:<client-id>: what this builder's repository holds (the scheduler adopts builds it never started). */
  private listImages(job: WorkerJob): string {
    checkBuilderListRequest(job.payload);
    return jsonResult({
      builder: this.config.clientId,
      images: this.repository.list().map((image) => ({
        'image-id': image.id,
        diskimage: image.name,
        formats: Object.keys(image.formats).sort(),
        'built-at': image.build.finished,
      })),
      building: [...this.building].map(([id, build]) => ({ 'image-id': id, diskimage: build.diskimage, 'started-at': build.startedAt })),
    });
  }

  private async deleteCloudImage(job: WorkerJob, providerName: string): Promise<string> {
    const request = parseProviderDeleteRequest(job.payload);
    const { provider, images, signal } = this.cloudJob(providerName);
    const outcome = await images.delete(provider, request.externalId, signal);
    this.logger.info(`provider ${provider.name}: image ${request.externalId} ${outcome === 'deleted' ? 'deleted' : 'was already gone'}`);
    return jsonResult(outcome === 'deleted' ? {} : { 'already-gone': true });
  }

  private async delete(job: WorkerJob, id: string): Promise<string> {
    checkDeleteRequest(job.payload);
    // Refused before touching the registration: the delete already running owns it, and would
    // find image-upload:<id> registered again after the image is gone.
    if (this.locks.isDeleting(id)) throw new JobFailure('IMAGE_DELETING', `image ${id} is already being deleted`);
    // No new uploads from here on: take the function away before waiting for running ones.
    this.worker.unregister(UPLOAD_PREFIX + id);
    const release = await this.locks.beginDelete(id, this.options.deleteTimeoutMs ?? 30 * 60_000).catch((err: unknown) => {
      if (this.repository.get(id)) this.worker.register(UPLOAD_PREFIX + id, (j) => this.upload(j, id), { jobClass: 'upload' });
      throw err;
    });
    try {
      const image = this.repository.get(id);
      await this.repository.delete(id);
      this.worker.unregister(DELETE_PREFIX + id);
      if (image) {
        await pruneBuildLogs(this.config.logDir, image.name, this.config.buildLogRetention, this.repository);
        this.logger.info(`deleted image ${id}`);
      }
      return jsonResult({});
    } finally {
      release();
    }
  }
}
