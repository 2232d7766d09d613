/**
 * A stand-in builder for the runner's tests: our protocol Worker (in-process) registering the
 * functions a real builder registers, with a stand-in cloud (a Map per provider) instead of
 * Glance. It follows the README's wire contract; the e2e tests use real builders and Glance.
 */
import { randomUUID } from 'node:crypto';
import { JobFailure } from '../../../src/errors/job-failure.ts';
import { Worker } from '../../../src/protocol/worker/worker.ts';
import type { WorkerJob } from '../../../src/protocol/worker/worker-job.ts';

export interface StandInImage {
  readonly externalId: string;
  readonly name: string;
  status: string;
  readonly uploadId: string | null;
  readonly buildId: string | null;
  readonly systemId: string | null;
}

/** What a stand-in job saw when it arrived, in order. */
export interface JobSeen {
  readonly functionName: string;
  readonly unique: string;
  readonly data: Record<string, unknown>;
}

const json = (job: WorkerJob): Record<string, unknown> => {
  const text = new TextDecoder().decode(job.payload);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
};

export class StandInBuilder {
  readonly worker: Worker;
  /** The stand-in clouds: images by external id, per provider. */
  readonly clouds = new Map<string, Map<string, StandInImage>>();
  /** Builds on this stand-in's "disk". */
  readonly builds = new Set<string>();
  readonly seen: JobSeen[] = [];
  /** Providers whose uploads fail (WORK_FAIL with a reason). */
  readonly failingProviders = new Set<string>();
  /** Builds running now (held by buildGate), by image id. */
  readonly building = new Map<string, string>();
  /** While set, builds wait for it before finishing. */
  buildGate: Promise<void> | undefined;
  /** While set, uploads wait for it before finishing. */
  uploadGate: Promise<void> | undefined;
  /** Called as each upload job starts, before it does anything. */
  onUploadStart: ((job: JobSeen) => void) | undefined;
  /** When it gives a failure for an upload job, the job fails with it (WORK_FAIL). */
  uploadFailure: ((job: JobSeen) => JobFailure | undefined) | undefined;

  constructor(
    server: { host: string; port: number },
    readonly name: string,
    diskimages: readonly string[],
    providers: readonly string[],
  ) {
    // One job class named as a real builder's build connection ("<client-id>/build"): the scheduler sees the builder as its client id.
    this.worker = new Worker({ servers: [server], clientId: name, slots: { build: 8 } });
    for (const diskimage of diskimages) this.worker.register(`image-build:${diskimage}`, (job) => this.build(job, diskimage));
    for (const provider of providers) {
      this.clouds.set(provider, new Map());
      this.worker.register(`provider-image-list:${provider}`, (job) => this.list(job, provider));
      this.worker.register(`provider-image-delete:${provider}`, (job) => this.deleteImage(job, provider));
    }
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop(1_000);
  }

  cloud(provider: string): StandInImage[] {
    return [...(this.clouds.get(provider)?.values() ?? [])];
  }

  private note(job: WorkerJob): JobSeen {
    const seen = { functionName: job.functionName, unique: job.unique, data: json(job) };
    this.seen.push(seen);
    return seen;
  }

  /** Registers builder-image-list:<name>: the builds on its "disk" and those running ("building"). */
  serveListing(): void {
    this.worker.register(`builder-image-list:${this.name}`, () =>
      JSON.stringify({
        builder: this.name,
        images: [...this.builds].map((id) => ({ 'image-id': id, diskimage: 'debian', formats: ['qcow2'], 'built-at': new Date(0).toISOString() })),
        building: [...this.building].map(([id, diskimage]) => ({ 'image-id': id, diskimage, 'started-at': new Date(0).toISOString() })),
      }),
    );
  }

  private async build(job: WorkerJob, diskimage: string): Promise<string> {
    const id = String(this.note(job).data['image-id']);
    this.building.set(id, diskimage);
    await this.buildGate;
    this.building.delete(id);
    this.builds.add(id);
    this.worker.register(`image-upload:${id}`, (j) => this.upload(j, id));
    this.worker.register(`image-delete:${id}`, (j) => this.deleteBuild(j, id));
    return JSON.stringify({ 'image-id': id, diskimage, builder: this.name, formats: { qcow2: { size: 1 } } });
  }

  private async upload(job: WorkerJob, buildId: string): Promise<string> {
    const seen = this.note(job);
    this.onUploadStart?.(seen);
    const provider = String(seen.data.provider);
    if (this.failingProviders.has(provider)) throw new JobFailure('CLOUD_REFUSED', `stand-in cloud ${provider} refuses the image`);
    const failure = this.uploadFailure?.(seen);
    if (failure) throw failure;
    const externalId = typeof seen.data['external-id'] === 'string' ? seen.data['external-id'] : randomUUID();
    const image: StandInImage = {
      externalId,
      name: String(seen.data['image-name'] ?? buildId),
      status: 'saving',
      uploadId: typeof seen.data['upload-id'] === 'string' ? seen.data['upload-id'] : null,
      buildId,
      systemId: typeof seen.data['system-id'] === 'string' ? seen.data['system-id'] : null,
    };
    this.clouds.get(provider)?.set(externalId, image);
    // Half the file sent, in KiB, as the real builder reports it.
    await job.status(512, 1024);
    await this.uploadGate;
    image.status = 'active';
    return JSON.stringify({ 'external-id': externalId });
  }

  private deleteBuild(job: WorkerJob, id: string): string {
    this.note(job);
    this.worker.unregister(`image-upload:${id}`);
    this.worker.unregister(`image-delete:${id}`);
    this.builds.delete(id);
    return '{}';
  }

  private list(job: WorkerJob, provider: string): string {
    const systemId = this.note(job).data['system-id'];
    const images = this.cloud(provider)
      .filter((image) => systemId === undefined || image.systemId === systemId)
      .map((image) => ({
        'external-id': image.externalId,
        name: image.name,
        status: image.status,
        'upload-id': image.uploadId,
        'build-id': image.buildId,
        'system-id': image.systemId,
        'created-at': new Date(0).toISOString(),
      }));
    return JSON.stringify({ images });
  }

  private deleteImage(job: WorkerJob, provider: string): string {
    const externalId = String(this.note(job).data['external-id']);
    const gone = this.clouds.get(provider)?.delete(externalId) !== true;
    return JSON.stringify(gone ? { 'already-gone': true } : {});
  }
}
